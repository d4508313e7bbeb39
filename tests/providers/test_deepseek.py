"""DeepSeek's case table: its API for the registry-wide suites, its answers, its simulator."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from provider_kit import (
    API_KEY,
    NO_WAIT,
    Answer,
    Api,
    Failure,
    SimAnswer,
    SimClock,
    assert_no_secret,
    fail,
    mock_answer,
    only_request,
    provider_for,
    read,
    table_tests,
)

from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import Reason
from balance_exporter.simulator import SimAccount, Simulator
from balance_exporter.simulator.providers.base import Shown
from balance_exporter.simulator.providers.deepseek import DeepSeekAccount
from balance_exporter.simulator.providers.registry import SIMULATED

PROVIDER = "deepseek"
SIM_KEY = "deepseek-canary-Qm47"
URL = "https://api.deepseek.com/user/balance"
# A key shaped like DeepSeek's whose last four characters, the ones its 401 quotes, are
# found nowhere else in this table.
DS_KEY = "sk-0f1e2d3c4b5a69788796a5b4c3d2Qz7W"
LAST_FOUR = DS_KEY[-4:]

APIS = {
    "": Api(
        config={"api_key": API_KEY},
        url=URL,
        headers={"Authorization": f"Bearer {API_KEY}", "Accept": "application/json"},
        success=lambda value: {
            "is_available": True,
            "balance_infos": [
                {
                    "currency": "CNY",
                    "total_balance": value,
                    "granted_balance": "0.00",
                    "topped_up_balance": value,
                }
            ],
        },
        error=lambda text: {
            "error": {
                "message": text,
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_request_error",
            }
        },
        sim_account=SimAccount(PROVIDER, SIM_KEY, balance=Decimal("110.00"), currency="CNY"),
        sim_request=("/user/balance", {"Authorization": f"Bearer {SIM_KEY}"}),
    )
}


def info(currency: Any, total: Any, granted: str = "0.00", topped_up: str | None = None) -> Any:
    topped_up = total if topped_up is None else topped_up
    return {
        "currency": currency,
        "total_balance": total,
        "granted_balance": granted,
        "topped_up_balance": topped_up,
    }


def balances(*infos: Any, available: Any = True) -> dict[str, Any]:
    return {"is_available": available, "balance_infos": list(infos)}


def error(message: str, kind: str, code: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def failed(status: int, kind: str, text: str, reason: Reason) -> Failure:
    return Failure(reason, f"HTTP {status}, deepseek code {kind}: {text}", code=kind, status=status)


def invalid(message: str | None = None) -> Failure:
    return Failure(Reason.INVALID_RESPONSE, message)


EXAMPLE = balances(info("CNY", "110.00", "10.00", "100.00"))
CNY_AND_USD = balances(info("CNY", "110.00", "10.00", "100.00"), info("USD", "12.40"))
# What DeepSeek's 401 says of a wrong key, its last four characters behind asterisks.
WRONG_KEY = "Authentication Fails, Your api key: ****{} is invalid"
WRONG_KEY_SHOWN = "Authentication Fails, Your api key: **** is invalid"

ANSWERS = [
    Answer(
        "documented-example",
        EXAMPLE,
        reading=Reading(currency="CNY", balance=Decimal("110.00"), credit_blocked=False),
    ),
    # One balance per currency: the first entry is the balance, the others further balances.
    Answer(
        "two-currencies",
        CNY_AND_USD,
        reading=Reading(
            currency="CNY",
            balance=Decimal("110.00"),
            credit_blocked=False,
            other_balances=(("USD", Decimal("12.40")),),
        ),
    ),
    Answer(
        "two-currencies-usd-first",
        balances(info("USD", "0.75"), info("CNY", "3.10")),
        reading=Reading(
            currency="USD",
            balance=Decimal("0.75"),
            credit_blocked=False,
            other_balances=(("CNY", Decimal("3.10")),),
        ),
    ),
    # A currency gone from the answer is gone from the reading (and so loses its series).
    Answer(
        "usd-gone-again",
        balances(info("CNY", "109.20")),
        reading=Reading(currency="CNY", balance=Decimal("109.20"), credit_blocked=False),
    ),
    # Money left, yet not usable for API calls: credit blocked, the balance still shown.
    Answer(
        "not-available-with-money-left",
        balances(info("CNY", "5.00", "5.00", "0.00"), available=False),
        reading=Reading(currency="CNY", balance=Decimal("5.00"), credit_blocked=True),
    ),
    Answer(
        "not-available-at-zero",
        balances(info("CNY", "0.00"), info("USD", "0.00"), available=False),
        reading=Reading(
            currency="CNY",
            balance=Decimal("0.00"),
            credit_blocked=True,
            other_balances=(("USD", Decimal("0.00")),),
        ),
    ),
    # is_available is optional in DeepSeek's schema: unsaid, the flag is unknown.
    Answer(
        "is-available-left-out",
        {"balance_infos": [info("CNY", "110.00")]},
        reading=Reading(currency="CNY", balance=Decimal("110.00")),
    ),
    Answer(
        "is-available-null",
        {"is_available": None, "balance_infos": [info("USD", "1.00")]},
        reading=Reading(currency="USD", balance=Decimal("1.00")),
    ),
    # An empty list is an account with no balance at all, not a broken answer.
    Answer(
        "no-balances",
        balances(available=False),
        reading=Reading(credit_blocked=True),
    ),
    # Blank keep-alive lines before (and after) the body are read past.
    Answer(
        "keep-alive-blank-lines",
        "\n\n\n" + json.dumps(EXAMPLE) + "\n",
        reading=Reading(currency="CNY", balance=Decimal("110.00"), credit_blocked=False),
    ),
    Answer(
        "only-blank-lines",
        "\n\n\n\n",
        failure=invalid("response is not JSON (Expecting value at line 5)"),
    ),
    Answer(
        "json-numbers-are-exact",
        '{"is_available": true, "balance_infos": [{"currency": "usd", "total_balance": 0.1}]}',
        reading=Reading(currency="USD", balance=Decimal("0.1"), credit_blocked=False),
    ),
    Answer(
        "negative-total",
        balances(info("CNY", "-0.37"), available=False),
        reading=Reading(currency="CNY", balance=Decimal("-0.37"), credit_blocked=True),
    ),
    # Wrong shapes.
    Answer(
        "no-balance-infos",
        {"is_available": True},
        failure=invalid("response has no balance_infos"),
    ),
    Answer(
        "balance-infos-null",
        {"is_available": True, "balance_infos": None},
        failure=invalid("response has no balance_infos"),
    ),
    Answer(
        "balance-infos-an-object",
        {"is_available": True, "balance_infos": info("CNY", "1.00")},
        failure=invalid("balance_infos is an object, expected a list"),
    ),
    Answer(
        "entry-not-an-object",
        balances("110.00"),
        failure=invalid("balance_infos[0] is a string, expected an object"),
    ),
    Answer(
        "entry-without-currency",
        balances(info("CNY", "1.00"), {"total_balance": "2.00"}),
        failure=invalid("balance_infos[1] has no currency"),
    ),
    Answer(
        "currency-a-symbol",
        balances(info("¥", "1.00")),
        failure=invalid("balance_infos[0].currency is not a currency code: '¥'"),
    ),
    Answer(
        "currency-a-number",
        balances(info(156, "1.00")),
        failure=invalid("balance_infos[0].currency is a number, expected a string"),
    ),
    Answer(
        "entry-without-total",
        balances({"currency": "CNY", "granted_balance": "1.00", "topped_up_balance": "0.00"}),
        failure=invalid("balance_infos[0] has no total_balance"),
    ),
    Answer(
        "total-with-its-currency",
        balances(info("CNY", "110.00 CNY")),
        failure=invalid("balance_infos[0].total_balance is not a plain number: '110.00 CNY'"),
    ),
    # Two series for one currency would be ambiguous.
    Answer(
        "currency-twice",
        balances(info("CNY", "1.00"), info("cny", "2.00")),
        failure=invalid("balance_infos[1].currency CNY is given twice"),
    ),
    Answer(
        "is-available-a-string",
        balances(info("CNY", "1.00"), available="true"),
        failure=invalid("is_available is a string, expected a boolean"),
    ),
    Answer(
        "is-available-a-number",
        balances(info("CNY", "1.00"), available=0),
        failure=invalid("is_available is a number, expected a boolean"),
    ),
    # Errors: classified on the status and error.type (error.code is always the generic one).
    Answer(
        "401-documented",
        error(WRONG_KEY.format("abcd"), "authentication_error"),
        status=401,
        failure=failed(401, "authentication_error", WRONG_KEY_SHOWN, Reason.AUTH),
    ),
    # The quoted end of the configured key: the message keeps none of it (see also below).
    Answer(
        "401-quotes-the-last-four-of-the-key",
        error(WRONG_KEY.format(LAST_FOUR), "authentication_error"),
        status=401,
        config={"api_key": DS_KEY},
        failure=failed(401, "authentication_error", WRONG_KEY_SHOWN, Reason.AUTH),
    ),
    Answer(
        "401-no-such-user",
        error("Authentication Fails (no such user)", "authentication_error"),
        status=401,
        failure=failed(
            401, "authentication_error", "Authentication Fails (no such user)", Reason.AUTH
        ),
    ),
    Answer(
        "auth-type-decides-over-400",
        error("Authentication Fails (no such user)", "authentication_error"),
        status=400,
        failure=failed(
            400, "authentication_error", "Authentication Fails (no such user)", Reason.AUTH
        ),
    ),
    Answer(
        "400-invalid-format",
        error("Invalid Format", "invalid_request_error"),
        status=400,
        failure=failed(400, "invalid_request_error", "Invalid Format", Reason.CLIENT_ERROR),
    ),
    # Documented for paid calls only; here it would be a client error like any other.
    Answer(
        "402-insufficient-balance",
        error("Insufficient Balance", "unknown_error"),
        status=402,
        failure=failed(402, "unknown_error", "Insufficient Balance", Reason.CLIENT_ERROR),
    ),
    Answer(
        "422-invalid-parameters",
        error("Invalid Parameters", "invalid_request_error"),
        status=422,
        failure=failed(422, "invalid_request_error", "Invalid Parameters", Reason.CLIENT_ERROR),
    ),
    Answer(
        "429-rate-limit-reached",
        error("Rate Limit Reached", "rate_limit_error"),
        status=429,
        headers={"Retry-After": "30"},
        failure=Failure(
            Reason.RATE_LIMITED,
            "HTTP 429, deepseek code rate_limit_error: Rate Limit Reached",
            retry_after=30.0,
        ),
    ),
    # No rate-limit headers are documented: then no wait is asked for.
    Answer(
        "429-without-wait",
        error("Rate Limit Reached", "rate_limit_error"),
        status=429,
        failure=Failure(Reason.RATE_LIMITED, retry_after=NO_WAIT),
    ),
    Answer(
        "500-server-error",
        error("Server Error", "server_error"),
        status=500,
        failure=failed(500, "server_error", "Server Error", Reason.SERVER_ERROR),
    ),
    Answer(
        "503-server-overloaded",
        error("Server Overloaded", "server_error"),
        status=503,
        failure=failed(503, "server_error", "Server Overloaded", Reason.SERVER_ERROR),
    ),
    Answer(
        "503-empty",
        "",
        status=503,
        content_type="text/plain",
        failure=Failure(Reason.SERVER_ERROR, "HTTP 503"),
    ),
    *(
        Answer(
            f"error-body-without-an-error-{index}",
            body,
            status=401,
            failure=Failure(Reason.AUTH, "HTTP 401"),
        )
        for index, body in enumerate([{}, {"error": "bad"}, {"error": None}, {"detail": "x"}])
    ),
    Answer(
        "error-without-type-or-message",
        {"error": {"param": None, "code": "invalid_request_error"}},
        status=401,
        failure=Failure(Reason.AUTH, "HTTP 401"),
    ),
    # A key echoed where a figure, a currency or a type belongs never shows in the failure.
    Answer(
        "key-echoed-as-currency",
        balances(info(API_KEY, "1.00")),
        failure=invalid(),
    ),
    Answer(
        "key-echoed-as-type",
        error("Authentication Fails", API_KEY),
        status=401,
        failure=Failure(Reason.AUTH, contains=("Authentication Fails",)),
    ),
    Answer(
        "key-echoed-whole-in-the-message",
        error(f"Authentication Fails, Your api key: {API_KEY} is invalid", "authentication_error"),
        status=401,
        failure=failed(401, "authentication_error", WRONG_KEY_SHOWN, Reason.AUTH),
    ),
]


HEALTHY = balances(info("CNY", "110.00"))
SIM_401 = error(WRONG_KEY.format("abcd"), "authentication_error")
RATE_LIMITED = error("Rate Limit Reached", "rate_limit_error")


def sim_fault(fault: str, retry_after: str = "30") -> SimAccount:
    return replace(APIS[""].sim_account, fault=fault, retry_after=retry_after)


def two_currencies(cny: str, usd: str) -> DeepSeekAccount:
    return DeepSeekAccount(
        PROVIDER, SIM_KEY, balance=Decimal(cny), currency="CNY", further=(("USD", Decimal(usd)),)
    )


DEMO = SIMULATED[PROVIDER].demo_accounts()["deepseek-main"][0]

SIM_ANSWERS = [
    SimAnswer("healthy", APIS[""].sim_account, 200, HEALTHY, served=True),
    SimAnswer(
        "demo-two-currencies",
        DEMO,
        200,
        balances(info("CNY", "110.00"), info("USD", "12.40")),
        request=("/user/balance", {"Authorization": f"Bearer {DEMO.key}"}),
        served=True,
    ),
    # Usable while any currency has money left.
    SimAnswer(
        "cny-spent-usd-left",
        two_currencies("0", "3.5"),
        200,
        balances(info("CNY", "0.00"), info("USD", "3.50")),
        served=True,
    ),
    SimAnswer(
        "nothing-left-is-not-available",
        two_currencies("-0.37", "0"),
        200,
        balances(info("CNY", "-0.37"), info("USD", "0.00"), available=False),
        served=True,
    ),
    SimAnswer(
        "written-with-two-decimals",
        SimAccount(PROVIDER, SIM_KEY, balance=Decimal("7.5")),
        200,
        balances(info("USD", "7.50")),
        served=True,
    ),
    # A wrong key, a key without its scheme word, no key: DeepSeek's 401.
    SimAnswer(
        "wrong-key",
        APIS[""].sim_account,
        401,
        SIM_401,
        request=("/user/balance", {"Authorization": "Bearer sk-wrong"}),
    ),
    SimAnswer(
        "key-without-bearer",
        APIS[""].sim_account,
        401,
        SIM_401,
        request=("/user/balance", {"Authorization": SIM_KEY}),
    ),
    SimAnswer(
        "no-authorization", APIS[""].sim_account, 401, SIM_401, request=("/user/balance", {})
    ),
    # Faults, in DeepSeek's shapes.
    SimAnswer("401", sim_fault("401"), 401, SIM_401),
    SimAnswer("403", sim_fault("403"), 403, error("Permission Denied", "permission_error")),
    SimAnswer("500", sim_fault("500"), 500, error("Server Error", "server_error")),
    SimAnswer(
        "503-retry-after",
        sim_fault("503-retry-after", retry_after="120"),
        503,
        error("Server Overloaded", "server_error"),
        headers={"Retry-After": "120"},
    ),
    SimAnswer(
        "429-seconds",
        sim_fault("429-seconds", retry_after="37"),
        429,
        RATE_LIMITED,
        headers={"Retry-After": "37"},
    ),
    SimAnswer("429-bare", sim_fault("429-bare"), 429, RATE_LIMITED, absent=("Retry-After",)),
    *(
        SimAnswer(fault, sim_fault(fault), 200, balances(info("CNY", value)))
        for fault, value in (("nan", "NaN"), ("infinity", "Infinity"), ("thousands", "1,000.00"))
    ),
]


test_answer, test_simulator_answer = table_tests(PROVIDER, APIS, ANSWERS, SIM_ANSWERS)


# --- what does not fit a row --------------------------------------------------------------------


# DeepSeek's wording, with the end of the key quoted in every way seen, and other wordings.
QUOTED = [
    (WRONG_KEY.format(LAST_FOUR), WRONG_KEY_SHOWN),
    (WRONG_KEY.format(LAST_FOUR + '"'), WRONG_KEY_SHOWN),  # a key that ends in a quote
    (WRONG_KEY.format(LAST_FOUR + "}"), WRONG_KEY_SHOWN),
    (f"Authentication Fails, Your api key: sk-0f****{LAST_FOUR} is invalid", WRONG_KEY_SHOWN),
    (f"Authentication Fails, Your api key: {LAST_FOUR} is invalid", WRONG_KEY_SHOWN),  # unmasked
    (
        f"Authentication Fails, Your API key: **{LAST_FOUR} is invalid",
        "Authentication Fails, Your API key: **** is invalid",
    ),
    (f"Invalid key ****{LAST_FOUR}.", "Invalid key ****"),
    (f"key (****{LAST_FOUR}) was disabled", "key **** was disabled"),
    (f"Your api key: ****{LAST_FOUR} has expired", "Your api key: **** has expired"),
]


@pytest.mark.parametrize(
    ("message", "shown"), QUOTED, ids=[f"quoted-{i}" for i in range(len(QUOTED))]
)
@pytest.mark.parametrize("status", [401, 400, 500])
async def test_no_piece_of_the_key_reaches_the_failure(
    message: str, shown: str, status: int, http: Any, session: aiohttp.ClientSession
) -> None:
    adapter_ = provider_for(PROVIDER, APIS[""], api_key=DS_KEY)
    mock_answer(http, URL, error(message, "authentication_error"), status=status)

    failure = await fail(adapter_, session)

    assert failure.reason is Reason.AUTH
    assert_no_secret(failure, adapter_)
    # Four characters are below what the kit checks: the last four of the key, explicitly.
    for text in (failure.message, str(failure), repr(failure), failure.code or ""):
        assert LAST_FOUR.lower() not in text.lower(), text
    assert failure.message == f"HTTP {status}, deepseek code authentication_error: {shown}"


@pytest.mark.parametrize(
    "base_url",
    [None, "http://127.0.0.1:8080", "http://127.0.0.1:8080/"],
    ids=["default", "base-url", "base-url-slash"],
)
async def test_request_sent(
    base_url: str | None, http: Any, session: aiohttp.ClientSession
) -> None:
    url = URL if base_url is None else "http://127.0.0.1:8080/user/balance"
    adapter_ = provider_for(PROVIDER, APIS[""], base_url=base_url)
    mock_answer(http, url, EXAMPLE)

    await read(adapter_, session)

    sent_url, headers = only_request(http)
    assert sent_url == url
    assert headers["Authorization"] == f"Bearer {API_KEY}"
    assert headers["Accept"] == "application/json"


@pytest.mark.parametrize(
    "account",
    [APIS[""].sim_account, DEMO, two_currencies("0", "3.5"), two_currencies("0", "0")],
    ids=["one-currency", "demo", "cny-spent", "nothing-left"],
)
async def test_the_exporter_reads_what_the_simulator_says_it_shows(
    account: SimAccount, session: aiohttp.ClientSession
) -> None:
    simulator = Simulator(clock=SimClock())
    simulator.add("case", replace(account))
    async with TestClient(TestServer(simulator.app())) as client:
        base_url = str(client.make_url("")).rstrip("/")
        adapter_ = provider_for(PROVIDER, APIS[""], base_url=base_url, api_key=account.key)
        reading = await read(adapter_, session)
        simulator.release.set()

    assert reading.balance is not None
    shown = SIMULATED[PROVIDER].shown(account, account.balance)
    assert shown == Shown(
        reading.currency or "",
        {"balance": reading.balance},
        {"credit_blocked": float(bool(reading.credit_blocked))},
        dict(reading.other_balances),
    )
