"""http_json's case table: any JSON API, read through the paths its config gives.

``APIS[""]`` describes the simulated wallet the way the demo does (Bearer key, a JMESPath
filter, scale 0.01, currency_path, the error paths) and runs the registry-wide suites; its
``ANSWERS`` are read with those keys. ``DESCRIBED`` holds the answers read with other keys
(an answer's ``config`` can add keys but not drop one, nor give a mapping): fixed currencies,
the other figures, the conditions, code_reasons, JMESPath functions. Then the request of every
auth mode, the key in a query string, the config problems, and the simulator read through the
demo's own config.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
import yarl
from aiohttp import encode_basic_auth
from aiohttp.test_utils import TestClient, TestServer
from aioresponses.compat import normalize_url
from provider_kit import (
    API_KEY,
    AUTH_TOKEN,
    NO_WAIT,
    USER_AGENT,
    Answer,
    Api,
    Failure,
    SimAnswer,
    SimClock,
    assert_failure,
    assert_no_secret,
    fail,
    ids,
    mock_answer,
    only_request,
    read,
    table_tests,
)

from balance_exporter.config.account import AccountConfig
from balance_exporter.config.checker import ConfigError, parse_config
from balance_exporter.demo import config_settings
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import PollError, Reason
from balance_exporter.providers.base import Provider, adapter
from balance_exporter.providers.http_json import HttpJsonSettings
from balance_exporter.providers.registry import BUILT_IN
from balance_exporter.simulator import SimAccount, Simulator
from balance_exporter.simulator.providers.registry import SIMULATED

PROVIDER = "http_json"
SIM_KEY = "http-json-canary-Qm47"
HOST = "https://api.acme.example"
PATH = "/http-json/v1/wallet"
URL = f"{HOST}{PATH}?view=summary"  # a query of its own, kept whatever base_url says
USD_CENTS = "wallet.balances[?currency=='USD'].amount_cents | [0]"
ERROR_WHEN = "ok == `false`"
# A key for the query string whose percent-encoded form differs from its text, and whose form
# on the wire differs from both (the HTTP client decodes / and : in a query again).
QUERY_KEY = "qry0canary+9f8e=7d6c%5b/4a:&x y"

KEYS: dict[str, str] = {
    "url": URL,
    "api_key": API_KEY,
    "balance": USD_CENTS,
    "scale": "0.01",
    "currency_path": "wallet.currency",
    "error_code": "error.code",
    "error_message": "error.message",
}


def wallet(
    cents: Any = 12345, home: Any = "USD", *, entry: str = "USD", **more: Any
) -> dict[str, Any]:
    """The simulated wallet's answer: the USD entry second, so that only the filter finds it."""
    return {
        "ok": True,
        "status": "active",
        "wallet": {
            "currency": home,
            "frozen": False,
            "balances": [
                {"currency": "EUR", "amount_cents": 2500},
                {"currency": entry, "amount_cents": cents},
            ],
            **more,
        },
        "meta": {"stale": False},
    }


def failed(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


APIS = {
    "": Api(
        config=KEYS,
        url=URL,
        headers={"Authorization": f"Bearer {API_KEY}"},
        success=wallet,
        error=lambda text: failed("E_OTHER", text),
        sim_account=SimAccount(
            PROVIDER, SIM_KEY, balance=Decimal("123.45"), credit_limit=Decimal("50.00")
        ),
        sim_request=(PATH, {"Authorization": f"Bearer {SIM_KEY}"}),
    )
}

FILTER_FINDS_NOTHING = f"balance: {USD_CENTS} finds nothing in the answer"
NOT_AN_AMOUNT = f"balance ({USD_CENTS}) is a boolean, not an amount"

ANSWERS = [
    # The filter picks the USD entry (the second), and 0.01 makes cents dollars, exactly.
    Answer(
        "filter-and-scale",
        wallet(12345),
        reading=Reading(currency="USD", balance=Decimal("123.45")),
    ),
    Answer(
        "figure-as-numeric-string",
        wallet("12345"),
        reading=Reading(currency="USD", balance=Decimal("123.45")),
    ),
    Answer(
        "scale-is-exact-on-large-figures",
        wallet(99999999999999),
        reading=Reading(currency="USD", balance=Decimal("999999999999.99")),
    ),
    Answer(
        "scale-is-exact-below-a-cent",
        wallet("0.5"),
        reading=Reading(currency="USD", balance=Decimal("0.005")),
    ),
    Answer(
        "json-number-is-exact",
        json.dumps(wallet(0)).replace('"amount_cents": 0', '"amount_cents": 0.1'),
        reading=Reading(currency="USD", balance=Decimal("0.001")),
    ),
    Answer("negative", wallet(-1250), reading=Reading(currency="USD", balance=Decimal("-12.50"))),
    Answer("zero", wallet(0), reading=Reading(currency="USD", balance=Decimal("0"))),
    # currency_path: an ISO code in any case, or a unit word, or refused.
    Answer(
        "currency-path-lower-case-code",
        wallet(100, "usd"),
        reading=Reading(currency="USD", balance=Decimal("1.00")),
    ),
    Answer(
        "currency-path-unit-word",
        wallet(100, "credits"),
        reading=Reading(currency="credits", balance=Decimal("1.00")),
    ),
    Answer(
        "currency-path-not-a-code",
        wallet(100, "US$"),
        failure=Failure(
            Reason.INVALID_RESPONSE,
            "currency_path (wallet.currency) gives 'US$', not a currency code or unit word",
        ),
    ),
    Answer(
        "currency-path-a-number",
        wallet(100, 840),
        failure=Failure(
            Reason.INVALID_RESPONSE,
            "currency_path (wallet.currency) gives a number, not a currency code or unit word",
        ),
    ),
    Answer(
        "currency-path-finds-nothing",
        wallet(100, None),
        failure=Failure(
            Reason.INVALID_RESPONSE, "currency_path: wallet.currency finds nothing in the answer"
        ),
    ),
    # A path that finds nothing is a clear failure, not a zero.
    Answer(
        "filter-finds-nothing",
        wallet(100, entry="GBP"),
        failure=Failure(Reason.INVALID_RESPONSE, FILTER_FINDS_NOTHING),
    ),
    Answer(
        "answer-of-another-shape",
        {"data": {"balance": "12.00"}},
        failure=Failure(Reason.INVALID_RESPONSE, FILTER_FINDS_NOTHING),
    ),
    Answer(
        "figure-a-boolean",
        wallet(True),
        failure=Failure(Reason.INVALID_RESPONSE, NOT_AN_AMOUNT),
    ),
    Answer(
        "figure-with-thousands",
        wallet("1,000"),
        failure=Failure(
            Reason.INVALID_RESPONSE, f"balance ({USD_CENTS}) is not a plain number: '1,000'"
        ),
    ),
    # Error bodies: error_code and error_message read them; the status classifies.
    Answer(
        "401",
        failed("E_AUTH", "Invalid API key"),
        status=401,
        failure=Failure(Reason.AUTH, "HTTP 401, code E_AUTH: Invalid API key", code="E_AUTH"),
    ),
    Answer(
        "403",
        failed("E_FORBIDDEN", "This key may not read the wallet"),
        status=403,
        failure=Failure(
            Reason.AUTH, "HTTP 403, code E_FORBIDDEN: This key may not read the wallet"
        ),
    ),
    Answer(
        "429-retry-after",
        failed("E_RATE", "Too many requests"),
        status=429,
        headers={"Retry-After": "30"},
        failure=Failure(
            Reason.RATE_LIMITED, "HTTP 429, code E_RATE: Too many requests", retry_after=30.0
        ),
    ),
    Answer(
        "500",
        failed("E_INTERNAL", "Internal error"),
        status=500,
        failure=Failure(Reason.SERVER_ERROR, "HTTP 500, code E_INTERNAL: Internal error"),
    ),
    Answer(
        "502-html",
        "<html><body>Bad gateway</body></html>",
        status=502,
        content_type="text/html",
        failure=Failure(Reason.SERVER_ERROR, "HTTP 502", code=None, retry_after=NO_WAIT),
    ),
    Answer(
        "error-body-without-the-error",
        {"ok": False},
        status=400,
        failure=Failure(Reason.CLIENT_ERROR, "HTTP 400"),
    ),
    Answer(
        "error-body-a-list",
        [{"code": "E_X"}],
        status=400,
        failure=Failure(Reason.CLIENT_ERROR, "HTTP 400"),
    ),
    Answer(
        "error-code-a-number",
        {"error": {"code": 4021, "message": "Quota exceeded"}},
        status=402,
        failure=Failure(Reason.CLIENT_ERROR, "HTTP 402, code 4021: Quota exceeded", code="4021"),
    ),
    Answer(
        "error-message-an-object",
        {"error": {"code": "E_X", "message": {"en": "no"}}},
        status=400,
        failure=Failure(Reason.CLIENT_ERROR, "HTTP 400, code E_X"),
    ),
    # Echoed keys: the kit checks no piece of the key shows in the failure.
    Answer(
        "key-echoed-in-an-error",
        failed("E_AUTH", f"key {API_KEY} is revoked"),
        status=401,
        failure=Failure(Reason.AUTH, "HTTP 401, code E_AUTH: key ******** is revoked"),
    ),
    Answer(
        "key-echoed-as-the-code",
        failed(API_KEY, "bad"),
        status=401,
        failure=Failure(Reason.AUTH, "HTTP 401, code ********: bad", code="********"),
    ),
    Answer(
        "key-echoed-as-the-currency",
        wallet(100, API_KEY),
        failure=Failure(Reason.INVALID_RESPONSE, contains=("currency_path",)),
    ),
]


# --- answers read with other keys ----------------------------------------------------------------


@dataclass(frozen=True)
class Described:
    """An answer read with ``keys`` over the API's own: None drops a key; a value may be a
    mapping (headers, code_reasons)."""

    answer: Answer
    keys: Mapping[str, object] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.answer.id


def config_text(keys: Mapping[str, object], name: str = "acme") -> str:
    """One account of those keys, each value as JSON (a valid YAML scalar or flow mapping)."""
    lines = [f"name: {name}", f"provider: {PROVIDER}"]
    lines += [f"{key}: {json.dumps(value)}" for key, value in keys.items() if value is not None]
    return "accounts:\n  - " + "\n    ".join(lines) + "\n"


def account(keys: Mapping[str, object], **common: object) -> AccountConfig:
    return parse_config(config_text({**KEYS, **keys, **common}), "<case>", environ={}).accounts[0]


def provider(keys: Mapping[str, object], **common: object) -> Provider[Any]:
    return adapter(account(keys, **common), BUILT_IN)


REASONS = {"E_AUTH": "auth", "E_SLOW": "rate_limited", "E_QUOTA": "client_error"}
CONDITIONS = {
    "blocked_when": "wallet.frozen",
    "degraded_when": "meta.stale",
    "not_ready_when": "status == 'setup'",
    "error_when": ERROR_WHEN,
}
FIGURES = {
    "credit_limit": "wallet.overdraft_cents",
    "pending": "wallet.pending_cents",
    "available_credit": "wallet.available_cents",
}
SUSPENDED = failed("E_SUSPENDED", "Wallet suspended: payment overdue")


def usd(value: str, **more: Any) -> Reading:
    return Reading(currency="USD", balance=Decimal(value), **more)


DESCRIBED = [
    # A fixed currency label instead of a path; the answer's own is then not read.
    Described(
        Answer(
            "fixed-currency",
            wallet(100, "GBP"),
            reading=Reading(currency="EUR", balance=Decimal("1.00")),
        ),
        {"currency": "EUR", "currency_path": None},
    ),
    Described(
        Answer("fixed-currency-lower-case-code", wallet(100), reading=usd("1.00")),
        {"currency": "usd", "currency_path": None},
    ),
    Described(
        Answer(
            "fixed-unit-word-without-scale",
            {"credits": {"balance": 1234.5}},
            reading=Reading(currency="credits", balance=Decimal("1234.5")),
        ),
        {"currency": "credits", "currency_path": None, "balance": "credits.balance", "scale": None},
    ),
    # 46elks' 1/10,000 of the currency, through scale; exact.
    Described(
        Answer(
            "scale-one-ten-thousandth",
            {"currency": "SEK", "balance": 9670500},
            reading=Reading(currency="SEK", balance=Decimal("967.05")),
        ),
        {"balance": "balance", "scale": "0.0001", "currency_path": "currency"},
    ),
    Described(
        Answer("scale-as-yaml-number", wallet(12345), reading=usd("123.45")),
        {"scale": Decimal("0.01")},  # written as a YAML number by yaml_keys()
    ),
    # The other figures: each its path, each scaled; one the answer lacks is left out.
    Described(
        Answer(
            "every-figure-scaled",
            wallet(12345, overdraft_cents=5000, pending_cents="125", available_cents=17345),
            reading=usd(
                "123.45",
                credit_limit=Decimal("50.00"),
                pending=Decimal("1.25"),
                available_credit=Decimal("173.45"),
            ),
        ),
        FIGURES,
    ),
    Described(
        Answer(
            "figures-the-answer-lacks",
            wallet(12345, overdraft_cents=None),
            reading=usd("123.45"),
        ),
        FIGURES,
    ),
    Described(
        Answer(
            "figure-not-a-number",
            wallet(12345, overdraft_cents="lots"),
            failure=Failure(
                Reason.INVALID_RESPONSE,
                "credit_limit (wallet.overdraft_cents) is not a plain number: 'lots'",
            ),
        ),
        FIGURES,
    ),
    # The conditions, each true, false or absent.
    Described(
        Answer("nothing-to-report", wallet(12345), reading=usd("123.45", credit_blocked=False)),
        CONDITIONS,
    ),
    Described(
        Answer(
            "blocked",
            {**wallet(0), "wallet": {**wallet(0)["wallet"], "frozen": True}},
            reading=usd("0", credit_blocked=True),
        ),
        CONDITIONS,
    ),
    Described(
        Answer(
            "blocked-unknown-when-the-path-finds-nothing",
            {
                "ok": True,
                "status": "active",
                "wallet": {"currency": "USD", "balances": [{"currency": "USD", "amount_cents": 7}]},
            },
            reading=usd("0.07"),
        ),
        CONDITIONS,
    ),
    Described(
        Answer(
            "blocked-when-not-a-boolean",
            {**wallet(0), "wallet": {**wallet(0)["wallet"], "frozen": "yes"}},
            failure=Failure(
                Reason.INVALID_RESPONSE,
                "blocked_when (wallet.frozen) gives a string, expected true or false",
            ),
        ),
        CONDITIONS,
    ),
    Described(
        Answer(
            "degraded",
            {**wallet(0), "meta": {"stale": True}},
            reading=Reading(degraded=True, degraded_reason="degraded_when is true: meta.stale"),
        ),
        CONDITIONS,
    ),
    Described(
        Answer(
            "not-ready",
            {"ok": True, "status": "setup", "meta": {"stale": False}},
            reading=Reading(ready=False),
        ),
        CONDITIONS,
    ),
    # error_when: an HTTP 200 that is a failure; client_error unless code_reasons names it.
    Described(
        Answer(
            "error-when",
            SUSPENDED,
            failure=Failure(
                Reason.CLIENT_ERROR,
                f"HTTP 200, error_when is true ({ERROR_WHEN}), code E_SUSPENDED:"
                " Wallet suspended: payment overdue",
                code="E_SUSPENDED",
                status=200,
            ),
        ),
        CONDITIONS,
    ),
    Described(
        Answer(
            "error-when-code-reason",
            failed("E_SLOW", "Slow down"),
            failure=Failure(
                Reason.RATE_LIMITED,
                f"HTTP 200, error_when is true ({ERROR_WHEN}), code E_SLOW: Slow down",
                code="E_SLOW",
            ),
        ),
        {**CONDITIONS, "code_reasons": REASONS},
    ),
    Described(
        Answer(
            "error-when-without-error-paths",
            SUSPENDED,
            failure=Failure(
                Reason.CLIENT_ERROR, f"HTTP 200, error_when is true ({ERROR_WHEN})", code=None
            ),
        ),
        {**CONDITIONS, "error_code": None, "error_message": None},
    ),
    # Checked before the figures: a failure body has none.
    Described(
        Answer(
            "error-when-before-not-ready",
            {**SUSPENDED, "status": "setup"},
            failure=Failure(Reason.CLIENT_ERROR, contains=("error_when is true",)),
        ),
        CONDITIONS,
    ),
    # code_reasons decide over the status.
    Described(
        Answer(
            "code-reason-over-400",
            failed("E_AUTH", "Key revoked"),
            status=400,
            failure=Failure(Reason.AUTH, "HTTP 400, code E_AUTH: Key revoked", code="E_AUTH"),
        ),
        {"code_reasons": REASONS},
    ),
    Described(
        Answer(
            "code-reason-over-500",
            failed("E_SLOW", "Busy"),
            status=503,
            failure=Failure(Reason.RATE_LIMITED, "HTTP 503, code E_SLOW: Busy"),
        ),
        {"code_reasons": REASONS},
    ),
    Described(
        Answer(
            "code-reason-over-401",
            failed("E_QUOTA", "Quota used up"),
            status=401,
            failure=Failure(Reason.CLIENT_ERROR, "HTTP 401, code E_QUOTA: Quota used up"),
        ),
        {"code_reasons": REASONS},
    ),
    Described(
        Answer(
            "code-not-in-code-reasons",
            failed("E_OTHER", "Nope"),
            status=401,
            failure=Failure(Reason.AUTH, "HTTP 401, code E_OTHER: Nope"),
        ),
        {"code_reasons": REASONS},
    ),
    # JMESPath functions see exact numbers (the body's are Decimal).
    Described(
        Answer("sum-of-entries", wallet(12345), reading=usd("148.45")),
        {"balance": "sum(wallet.balances[].amount_cents)"},
    ),
    Described(
        Answer("max-of-entries", wallet(50), reading=usd("25.00")),
        {"balance": "max(wallet.balances[].amount_cents)"},
    ),
    Described(
        Answer(
            "to-number-of-a-string",
            {"data": {"total": "0.30"}, "currency": "USD"},
            reading=usd("0.30"),
        ),
        {"balance": "to_number(data.total)", "scale": None, "currency_path": "currency"},
    ),
    Described(
        Answer(
            "type-of-a-number-in-a-condition",
            wallet(100),
            reading=usd("1.00", credit_blocked=True),
        ),
        {"blocked_when": "type(wallet.balances[0].amount_cents) == 'number'"},
    ),
    Described(
        Answer(
            "function-given-the-wrong-type",
            wallet(100),
            failure=Failure(
                Reason.INVALID_RESPONSE,
                "balance: sum(wallet.currency): In function sum(), invalid type for value: USD,"
                " expected one of: ['array-number'], received: \"string\"",
            ),
        ),
        {"balance": "sum(wallet.currency)"},
    ),
    # Any JSON is read: the paths decide (a top-level list here).
    Described(
        Answer(
            "top-level-list",
            [{"amount": "5.25", "unit": "EUR"}],
            reading=Reading(currency="EUR", balance=Decimal("5.25")),
        ),
        {"balance": "[0].amount", "scale": None, "currency_path": "[0].unit"},
    ),
]


def yaml_keys(keys: Mapping[str, object]) -> dict[str, object]:
    """JSON cannot write a Decimal: a YAML number is written as one, unquoted."""
    return {
        key: float(value) if isinstance(value, Decimal) else value for key, value in keys.items()
    }


@pytest.mark.parametrize("described", DESCRIBED, ids=[case.id for case in DESCRIBED])
async def test_described_answer(
    described: Described, http: Any, session: aiohttp.ClientSession
) -> None:
    answer = described.answer
    assert (answer.reading is None) != (answer.failure is None), "a reading or a failure"
    adapter_ = provider(yaml_keys(described.keys))
    mock_answer(
        http,
        adapter_.request().url,
        answer.body,
        status=answer.status,
        headers=answer.headers,
        content_type=answer.content_type,
    )
    if answer.reading is not None:
        assert await read(adapter_, session) == answer.reading
    else:
        assert answer.failure is not None
        failure = await fail(adapter_, session)
        assert_failure(failure, answer.failure)
        assert_no_secret(failure, adapter_)


def test_ids_are_unique_across_the_tables() -> None:
    ids([*ANSWERS, *(case.answer for case in DESCRIBED)])


# --- the request of every auth mode --------------------------------------------------------------

BARE = {key: None for key in ("api_key", "auth")}
REQUESTS = [
    ("bearer-by-default", {}, URL, {"Authorization": f"Bearer {API_KEY}"}),
    ("bearer", {"auth": "bearer"}, URL, {"Authorization": f"Bearer {API_KEY}"}),
    (
        "basic",
        {**BARE, "auth": "basic", "username": "acme-user", "password": AUTH_TOKEN},
        URL,
        {"Authorization": encode_basic_auth("acme-user", AUTH_TOKEN)},
    ),
    (
        "header",
        {"auth": "header", "auth_header": "X-Api-Key"},
        URL,
        {"X-Api-Key": API_KEY},
    ),
    ("query", {"auth": "query", "auth_param": "key"}, f"{URL}&key={API_KEY}", {}),
    (
        "query-without-a-query-of-its-own",
        {"auth": "query", "auth_param": "api_key", "url": f"{HOST}{PATH}"},
        f"{HOST}{PATH}?api_key={API_KEY}",
        {},
    ),
    (
        "query-key-percent-encoded",
        {"auth": "query", "auth_param": "key", "api_key": QUERY_KEY},
        f"{URL}&key={quote(QUERY_KEY, safe='')}",
        {},
    ),
    ("none", {**BARE, "auth": "none"}, URL, {}),
    (
        "plain-headers-beside-the-key",
        {"headers": {"Accept": "application/json", "X-Tenant": "acme"}},
        URL,
        {"Accept": "application/json", "X-Tenant": "acme", "Authorization": f"Bearer {API_KEY}"},
    ),
    (
        "base-url-keeps-path-and-query",
        {"base_url": "http://127.0.0.1:8080"},
        f"http://127.0.0.1:8080{PATH}?view=summary",
        {"Authorization": f"Bearer {API_KEY}"},
    ),
    (
        "base-url-with-a-path-prefix-and-a-query-key",
        {"base_url": "http://127.0.0.1:8080/mock/", "auth": "query", "auth_param": "key"},
        f"http://127.0.0.1:8080/mock{PATH}?view=summary&key={API_KEY}",
        {},
    ),
    (
        "base-url-on-a-url-without-a-path",
        {"base_url": "http://127.0.0.1:8080", "url": HOST},
        "http://127.0.0.1:8080/",
        {"Authorization": f"Bearer {API_KEY}"},
    ),
]


@pytest.mark.parametrize(
    ("keys", "url", "headers"),
    [case[1:] for case in REQUESTS],
    ids=[case[0] for case in REQUESTS],
)
async def test_request(
    keys: dict[str, object],
    url: str,
    headers: dict[str, str],
    http: Any,
    session: aiohttp.ClientSession,
) -> None:
    adapter_ = provider(keys)
    assert adapter_.request().url == url
    # The mock records URLs as the HTTP client sends them, their queries sorted.
    mock_answer(http, url, wallet(100))
    assert await read(adapter_, session) == usd("1.00")
    assert only_request(http) == (str(normalize_url(url)), {"User-Agent": USER_AGENT, **headers})


# --- the key in a query string never shows -------------------------------------------------------

QUERY_WAY = {"auth": "query", "auth_param": "key", "api_key": QUERY_KEY}
ENCODED = quote(QUERY_KEY, safe="")
SENT = yarl.URL(f"/?k={ENCODED}").raw_query_string.removeprefix("k=")  # as on the wire


async def test_a_url_safe_query_key_echoed_never_shows(
    http: Any, session: aiohttp.ClientSession
) -> None:
    # Most keys sent in a query string are letters and digits: sent, and echoed, as they are.
    adapter_ = provider({"auth": "query", "auth_param": "key"})
    url = adapter_.request().url
    mock_answer(http, url, failed("E_AUTH", f"rejected {url}"), status=401)

    failure = await fail(adapter_, session)

    assert failure.message == (
        f"HTTP 401, code E_AUTH: rejected {HOST}{PATH}?view=summary&key=********"
    )
    assert_no_secret(failure, adapter_)


async def test_a_url_safe_query_key_in_a_network_error_never_shows(
    http: Any, session: aiohttp.ClientSession
) -> None:
    adapter_ = provider({"auth": "query", "auth_param": "key"})
    url = adapter_.request().url
    http.get(url, exception=aiohttp.ClientConnectionError(f"proxy refused {url}"))

    failure = await fail(adapter_, session)

    assert failure.message == (
        f"ClientConnectionError: proxy refused {HOST}{PATH}?view=summary&key=********"
    )
    assert_no_secret(failure, adapter_)


async def test_a_query_string_key_echoed_as_sent_never_shows(
    http: Any, session: aiohttp.ClientSession
) -> None:
    # The provider quotes back the query it got, the key itself, and the key as it was sent.
    adapter_ = provider(QUERY_WAY)
    assert len({QUERY_KEY, ENCODED, SENT}) == 3
    assert ENCODED in adapter_.request().url
    echo = failed("E_AUTH", f"rejected ?view=summary&key={SENT} (key {QUERY_KEY}, {ENCODED})")
    mock_answer(http, adapter_.request().url, echo, status=401)

    failure = await fail(adapter_, session)

    assert failure.message == (
        "HTTP 401, code E_AUTH: rejected ?view=summary&key=******** (key ********, ********)"
    )
    _assert_no_query_key(failure)


async def test_a_query_string_key_in_a_network_error_never_shows(
    http: Any, session: aiohttp.ClientSession
) -> None:
    adapter_ = provider(QUERY_WAY)
    url = adapter_.request().url
    sent = str(yarl.URL(url))
    http.get(url, exception=aiohttp.ClientConnectionError(f"proxy refused {sent}"))

    failure = await fail(adapter_, session)

    assert failure.reason is Reason.NETWORK
    assert failure.message == (
        f"ClientConnectionError: proxy refused {HOST}{PATH}?view=summary&key=********"
    )
    _assert_no_query_key(failure)


async def test_a_query_string_key_echoed_in_a_200_failure_never_shows(
    http: Any, session: aiohttp.ClientSession
) -> None:
    adapter_ = provider({**QUERY_WAY, "error_when": ERROR_WHEN})
    mock_answer(http, adapter_.request().url, failed("E_KEY", f"unknown key={SENT}"))

    failure = await fail(adapter_, session)

    assert failure.message.endswith("code E_KEY: unknown key=********")
    _assert_no_query_key(failure)


def _assert_no_query_key(failure: PollError) -> None:
    for text in (failure.message, str(failure), repr(failure), failure.code or ""):
        for form in (QUERY_KEY, ENCODED, SENT):
            for start in range(len(form) - 11):
                assert form[start : start + 12] not in text, text


# --- config problems -----------------------------------------------------------------------------

MINIMAL: dict[str, object] = {
    "url": f"{HOST}/v1/wallet",
    "api_key": "CANARY-http-json-5c1e",
    "balance": "wallet.amount",
    "currency": "USD",
}


def config_problems(keys: Mapping[str, object], environ: dict[str, str] | None = None) -> list[str]:
    text = config_text({**MINIMAL, **keys})
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "<case>", environ=environ or {})
    return caught.value.problems


def test_the_minimal_config_is_valid() -> None:
    config = parse_config(config_text(MINIMAL), "<case>", environ={})
    settings = config.accounts[0].settings
    assert isinstance(settings, HttpJsonSettings)
    assert (settings.auth, settings.scale, settings.headers) == ("bearer", None, None)


AT = "<case>: accounts[0] 'acme': "
PROBLEMS = [
    # Paths: compiled at load, jmespath's own short reason.
    (
        "balance-not-jmespath",
        {"balance": "wallet."},
        [
            "balance: not a JMESPath expression: Expecting: ['quoted_identifier',"
            " 'unquoted_identifier', 'lbracket', 'lbrace'], got: eof at column 7"
        ],
    ),
    (
        "unexpected-token",
        {"credit_limit": "wallet overdraft"},
        ["credit_limit: not a JMESPath expression: Unexpected token: overdraft at column 7"],
    ),
    (
        "incomplete-filter",
        {"balance": "balance_infos[?currency=="},
        ["balance: not a JMESPath expression: incomplete expression"],
    ),
    (
        "unclosed-literal",
        {"error_when": "ok == `false"},
        ["error_when: not a JMESPath expression: Unclosed ` delimiter at column 6"],
    ),
    (
        "unknown-function",
        {"balance": "summ(wallet.amounts)"},
        ["balance: not a JMESPath expression: unknown function summ()"],
    ),
    (
        "wrong-number-of-arguments",
        {"degraded_when": "contains(meta.flags)"},
        [
            "degraded_when: not a JMESPath expression:"
            " Expected 2 arguments for function contains(), received 1"
        ],
    ),
    ("empty-path", {"pending": ""}, ["pending: is empty"]),
    ("balance-missing", {"balance": None}, ["balance: is required"]),
    (
        "every-bad-path-at-once",
        {"currency": None, "currency_path": "a.", "blocked_when": "[", "error_code": "a b"},
        [
            "currency_path: not a JMESPath expression: Expecting: ['quoted_identifier',"
            " 'unquoted_identifier', 'lbracket', 'lbrace'], got: eof at column 2",
            "blocked_when: not a JMESPath expression: incomplete expression",
            "error_code: not a JMESPath expression: Unexpected token: b at column 2",
        ],
    ),
    # The keys each auth mode needs, and those it does not use.
    (
        "bearer-without-a-key",
        {"api_key": None},
        ["api_key: is required with auth: bearer (or api_key_file)"],
    ),
    (
        "header-without-its-name",
        {"auth": "header"},
        ["auth_header: is required with auth: header"],
    ),
    (
        "query-without-its-parameter",
        {"auth": "query", "api_key": None},
        [
            "auth_param: is required with auth: query",
            "api_key: is required with auth: query (or api_key_file)",
        ],
    ),
    (
        "basic-without-its-pair",
        {"auth": "basic"},
        [
            "username: is required with auth: basic",
            "password: is required with auth: basic (or password_file)",
            "api_key: is not used with auth: basic",
        ],
    ),
    (
        "keys-another-mode-uses",
        {"auth_header": "X-Key", "username": "u"},
        ["username: is not used with auth: bearer", "auth_header: is not used with auth: bearer"],
    ),
    (
        "none-with-a-key",
        {"auth": "none"},
        ["api_key: is not used with auth: none"],
    ),
    (
        "unknown-mode",
        {"auth": "token"},
        ["auth: must be one of bearer, basic, header, query, none"],
    ),
    (
        "username-with-a-colon",
        {"auth": "basic", "api_key": None, "username": "a:b", "password": "CANARY-pw"},
        ["username: not a valid value (HTTP Basic allows no colon in it)"],
    ),
    (
        "auth-header-not-a-name",
        {"auth": "header", "auth_header": "X Key"},
        ["auth_header: not a valid value (an HTTP header name)"],
    ),
    # Currency: a fixed label or a path, exactly one.
    (
        "neither-currency-nor-path",
        {"currency": None},
        ["currency: is required (or currency_path)"],
    ),
    (
        "both-currency-and-path",
        {"currency_path": "wallet.currency"},
        ["currency: give currency or currency_path, not both"],
    ),
    (
        "currency-not-a-label",
        {"currency": "US Dollar"},
        [
            "currency: not a valid value (an ISO 4217 code like USD, or a lower-case unit word"
            " like credits)"
        ],
    ),
    # Scale: an exact positive number.
    ("scale-zero", {"scale": 0}, ["scale: must be a positive number (a multiplier such as 0.01)"]),
    (
        "scale-negative",
        {"scale": "-0.01"},
        ["scale: must be a positive number (a multiplier such as 0.01)"],
    ),
    (
        "scale-not-a-number",
        {"scale": "cents"},
        ["scale: must be a number (a multiplier such as 0.01)"],
    ),
    ("scale-a-boolean", {"scale": True}, ["scale: must be a number (a multiplier such as 0.01)"]),
    (
        "scale-infinite",
        {"scale": "Infinity"},
        ["scale: must be a number (a multiplier such as 0.01)"],
    ),
    # code_reasons: the closed set of reasons, and a code to map.
    (
        "code-reason-not-a-reason",
        {"error_code": "error.code", "code_reasons": {"E_AUTH": "auth", "E_SLOW": "throttled"}},
        [
            "code_reasons: E_SLOW: 'throttled' is not a reason (one of auth, rate_limited,"
            " server_error, client_error, timeout, network, invalid_response)"
        ],
    ),
    (
        "code-reasons-without-error-code",
        {"code_reasons": {"E_AUTH": "auth"}},
        ["code_reasons: needs error_code, the path to the code it maps"],
    ),
    (
        "code-reasons-not-a-mapping",
        {"error_code": "error.code", "code_reasons": "E_AUTH=auth"},
        ["code_reasons: must be a mapping of names to strings"],
    ),
    (
        "code-reason-not-a-string",
        {"error_code": "error.code", "code_reasons": {"E_AUTH": ["auth"]}},
        ["code_reasons: E_AUTH: must be a string (quote it)"],
    ),
    # headers: plain ones only.
    (
        "credential-header",
        {"headers": {"Authorization": "Token CANARY-hdr"}},
        ["headers: Authorization: not allowed here (headers are not secret: use auth)"],
    ),
    (
        "header-name-invalid",
        {"headers": {"X Tenant": "acme", "Cookie": "s=CANARY"}},
        [
            "headers: 'X Tenant' is not an HTTP header name",
            "headers: Cookie: not allowed here (headers are not secret: use auth)",
        ],
    ),
    (
        "header-that-is-the-auth-header",
        {"auth": "header", "auth_header": "X-Api-Key", "headers": {"x-api-key": "CANARY-2"}},
        ["headers: x-api-key: is the auth_header already"],
    ),
    (
        "header-value-with-a-newline",
        {"headers": {"X-Tenant": "acme\r\nX-Evil: 1"}},
        ["headers: X-Tenant: the value holds a control character"],
    ),
    (
        "header-value-a-number",
        {"headers": {"X-Version": 2, "Accept": "application/json"}},
        ["headers: X-Version: must be a string (quote it)"],
    ),
    (
        "header-value-unset-variable",
        {"headers": {"X-Tenant": "${TENANT}"}},
        ["headers: X-Tenant: environment variable TENANT is not set"],
    ),
    # url: required, http(s), no credentials.
    ("url-missing", {"url": None}, ["url: is required"]),
    (
        "url-not-http",
        {"url": "ftp://api.acme.example/wallet"},
        ["url: must be an http:// or https:// URL with a host"],
    ),
    (
        "url-with-credentials",
        {"url": "https://user:CANARY-pw@api.acme.example/wallet"},
        ["url: must not hold credentials; use auth and its keys"],
    ),
    ("url-with-a-fragment", {"url": f"{HOST}/wallet#top"}, ["url: must not have a fragment"]),
]


@pytest.mark.parametrize(
    ("keys", "lines"), [case[1:] for case in PROBLEMS], ids=[case[0] for case in PROBLEMS]
)
def test_config_problem(keys: dict[str, object], lines: list[str]) -> None:
    problems = config_problems(keys)
    assert problems == [AT + line for line in lines]
    assert not any("CANARY" in problem for problem in problems)


def test_header_values_expand_the_environment() -> None:
    text = config_text({**MINIMAL, "headers": {"X-Tenant": "${TENANT}-eu"}})
    settings = parse_config(text, "<case>", environ={"TENANT": "acme"}).accounts[0].settings
    assert isinstance(settings, HttpJsonSettings)
    assert settings.headers == {"X-Tenant": "acme-eu"}


@pytest.mark.parametrize(
    ("written", "scale"),
    [("0.01", "0.01"), ("'0.0001'", "0.0001"), ("1e-2", "0.01"), ("100", "100")],
    ids=["yaml-float", "string", "exponent", "integer"],
)
def test_scale_is_read_exactly(written: str, scale: str) -> None:
    text = config_text(MINIMAL) + f"    scale: {written}\n"
    settings = parse_config(text, "<case>", environ={}).accounts[0].settings
    assert isinstance(settings, HttpJsonSettings)
    assert settings.scale == Decimal(scale)


# --- the simulator ------------------------------------------------------------------------------

HEALTHY = {
    "ok": True,
    "status": "active",
    "wallet": {
        "currency": "USD",
        "frozen": False,
        "balances": [
            {"currency": "EUR", "amount_cents": 2500},
            {"currency": "USD", "amount_cents": 12345},
        ],
        "overdraft_cents": 5000,
    },
    "meta": {"stale": False},
}
ERROR_AUTH = failed("E_AUTH", "Invalid API key")
RATE = failed("E_RATE", "Too many requests")


def sim(**changes: Any) -> SimAccount:
    return replace(APIS[""].sim_account, **changes)


SIM_ANSWERS = [
    SimAnswer("healthy", sim(), 200, HEALTHY, served=True),
    SimAnswer(
        "pending-and-no-overdraft",
        sim(credit_limit=None, pending=Decimal("1.25")),
        200,
        {
            **HEALTHY,
            "wallet": {
                "currency": "USD",
                "frozen": False,
                "balances": HEALTHY["wallet"]["balances"],  # type: ignore[index]
                "pending_cents": 125,
            },
        },
        served=True,
    ),
    SimAnswer(
        "empty-and-frozen",
        sim(balance=Decimal("0"), credit_limit=None),
        200,
        {
            **HEALTHY,
            "wallet": {
                "currency": "USD",
                "frozen": True,
                "balances": [
                    {"currency": "EUR", "amount_cents": 2500},
                    {"currency": "USD", "amount_cents": 0},
                ],
            },
        },
        served=True,
    ),
    SimAnswer(
        "euro-wallet-other-entry-in-dollars",
        sim(currency="EUR", credit_limit=None, balance=Decimal("-3.5")),
        200,
        {
            **HEALTHY,
            "wallet": {
                "currency": "EUR",
                "frozen": True,
                "balances": [
                    {"currency": "USD", "amount_cents": 2500},
                    {"currency": "EUR", "amount_cents": -350},
                ],
            },
        },
        served=True,
    ),
    SimAnswer(
        "below-a-cent-as-a-string",
        sim(balance=Decimal("0.005"), credit_limit=None),
        200,
        {
            **HEALTHY,
            "wallet": {
                "currency": "USD",
                "frozen": False,
                "balances": [
                    {"currency": "EUR", "amount_cents": 2500},
                    {"currency": "USD", "amount_cents": "0.500"},
                ],
            },
        },
        served=True,
    ),
    SimAnswer(
        "setup", sim(state="setup"), 200, {"ok": True, "status": "setup", "meta": {"stale": False}}
    ),
    SimAnswer(
        "degraded",
        sim(state="degraded"),
        200,
        {
            "ok": True,
            "status": "active",
            "wallet": {
                "currency": "USD",
                "frozen": True,
                "balances": [
                    {"currency": "EUR", "amount_cents": 2500},
                    {"currency": "USD", "amount_cents": 0},
                ],
                "overdraft_cents": 5000,
            },
            "meta": {"stale": True},
        },
    ),
    SimAnswer("suspended", sim(state="suspended"), 200, SUSPENDED),
    SimAnswer(
        "wrong-key",
        sim(),
        401,
        ERROR_AUTH,
        request=(PATH, {"Authorization": "Bearer wrong-key"}),
    ),
    SimAnswer("no-key", sim(), 401, ERROR_AUTH, request=(PATH, {})),
    SimAnswer(
        "key-as-a-header-instead",
        sim(),
        401,
        ERROR_AUTH,
        request=(PATH, {"X-Api-Key": SIM_KEY}),
    ),
    SimAnswer("401", sim(fault="401"), 401, ERROR_AUTH),
    SimAnswer(
        "403", sim(fault="403"), 403, failed("E_FORBIDDEN", "This key may not read the wallet")
    ),
    SimAnswer("500", sim(fault="500"), 500, failed("E_INTERNAL", "Internal error")),
    SimAnswer(
        "429-seconds",
        sim(fault="429-seconds", retry_after="37"),
        429,
        RATE,
        headers={"Retry-After": "37"},
    ),
    SimAnswer("429-bare", sim(fault="429-bare"), 429, RATE, absent=("Retry-After",)),
    SimAnswer(
        "nan",
        sim(fault="nan"),
        200,
        {
            "ok": True,
            "status": "active",
            "wallet": {
                "currency": "USD",
                "frozen": False,
                "balances": [{"currency": "USD", "amount_cents": "NaN"}],
            },
            "meta": {"stale": False},
        },
    ),
]


test_answer, test_simulator_answer = table_tests(PROVIDER, APIS, ANSWERS, SIM_ANSWERS)


# --- the simulator, read through the demo's own config ---------------------------------------

DEMO_ACCOUNT = SIMULATED[PROVIDER].demo_accounts()["acme-wallet"][0]


async def poll_simulated(
    account: SimAccount, session: aiohttp.ClientSession
) -> tuple[Reading | PollError, SimAccount]:
    """Serve ``account`` and poll it with the account line ``--demo`` writes for it."""
    simulated = replace(account, scenario=None)
    simulator = Simulator(clock=SimClock())
    simulator.add("case", simulated)
    client = TestClient(TestServer(simulator.app()))
    await client.start_server()
    try:
        line = f"{{name: case, {config_settings(simulated)}, base_url: '{client.make_url('')}'}}"
        config = parse_config(f"accounts:\n  - {line}\n", "<demo>", environ={})
        polled = adapter(config.accounts[0], BUILT_IN)
        try:
            outcome: Reading | PollError = await read(polled, session)
        except PollError as failure:
            outcome = failure
    finally:
        simulator.release.set()
        await client.close()
    return outcome, simulated


@pytest.mark.parametrize(
    "account",
    [
        APIS[""].sim_account,
        DEMO_ACCOUNT,
        sim(credit_limit=None, pending=Decimal("1.25"), balance=Decimal("-0.25")),
        sim(currency="EUR", balance=Decimal("0.005")),
    ],
    ids=["case-account", "demo-account", "pending-and-negative", "euro-below-a-cent"],
)
async def test_the_demo_config_reads_what_the_simulator_says(
    account: SimAccount, session: aiohttp.ClientSession
) -> None:
    reading, simulated = await poll_simulated(account, session)
    assert isinstance(reading, Reading)
    assert simulated.served is not None
    shown = SIMULATED[PROVIDER].shown(simulated, simulated.served)
    figures = {
        "balance": reading.balance,
        "credit_limit": reading.credit_limit,
        "pending": reading.pending,
    }
    assert {key: value for key, value in figures.items() if value is not None} == shown.money
    assert reading.currency == shown.currency
    assert {"credit_blocked": float(bool(reading.credit_blocked))} == shown.other


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("setup", Reading(ready=False)),
        ("degraded", Reading(degraded=True, degraded_reason="degraded_when is true: meta.stale")),
    ],
)
async def test_the_demo_config_reads_each_state(
    state: str, expected: Reading, session: aiohttp.ClientSession
) -> None:
    reading, _ = await poll_simulated(sim(state=state), session)
    assert reading == expected


async def test_the_demo_config_fails_a_suspended_wallet(session: aiohttp.ClientSession) -> None:
    failure, simulated = await poll_simulated(sim(state="suspended"), session)
    assert isinstance(failure, PollError)
    assert (failure.reason, failure.status, failure.code) == (
        Reason.CLIENT_ERROR,
        200,
        "E_SUSPENDED",
    )
    assert failure.message == (
        f"HTTP 200, error_when is true ({ERROR_WHEN}), code E_SUSPENDED:"
        " Wallet suspended: payment overdue"
    )
    assert simulated.served is None


async def test_the_demo_config_reads_a_wrong_key_as_auth(session: aiohttp.ClientSession) -> None:
    # The simulated account has another key than the config the demo writes for this one.
    account = sim()
    simulator = Simulator(clock=SimClock())
    simulator.add("case", replace(account, key="another-key"))
    client = TestClient(TestServer(simulator.app()))
    await client.start_server()
    try:
        line = f"{{name: case, {config_settings(account)}, base_url: '{client.make_url('')}'}}"
        polled = adapter(
            parse_config(f"accounts:\n  - {line}\n", "<demo>", environ={}).accounts[0], BUILT_IN
        )
        failure = await fail(polled, session)
    finally:
        simulator.release.set()
        await client.close()
    assert (failure.reason, failure.message) == (
        Reason.AUTH,
        "HTTP 401, code E_AUTH: Invalid API key",
    )
