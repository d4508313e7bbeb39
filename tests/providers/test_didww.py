"""DIDWW's case table: its API for the registry-wide suites, its answers, its simulator."""

from __future__ import annotations

import copy
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
    config_problems,
    mock_answer,
    only_request,
    provider_for,
    read,
    table_tests,
)

from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import Reason
from balance_exporter.simulator import SimAccount, Simulator
from balance_exporter.simulator.providers.didww import balance_id
from balance_exporter.simulator.providers.registry import SIMULATED

PROVIDER = "didww"
SIM_KEY = "didww-canary-Qm47"
URL = "https://api.didww.com/v3/balance"
MEDIA_TYPE = "application/vnd.api+json"
BALANCE_ID = "94441ce5-86fa-47bd-8ce7-b5e267d0603a"
HINT = " (a wrong key, or this host's address is not in the key's Access IPs)"


def document(**attributes: Any) -> dict[str, Any]:
    """A balance document as DIDWW answers one."""
    return {
        "data": {"id": BALANCE_ID, "type": "balances", "attributes": attributes},
        "meta": {"api_version": "2021-12-15"},
    }


def errors(code: str, title: str, detail: str | None = None, status: str = "") -> dict[str, Any]:
    error = {"title": title, "code": code, "status": status or code}
    if detail is not None:
        error["detail"] = detail
    return {"errors": [error]}


APIS = {
    "": Api(
        config={"api_key": API_KEY},
        url=URL,
        headers={"Accept": MEDIA_TYPE, "Content-Type": MEDIA_TYPE, "Api-Key": API_KEY},
        success=lambda value: document(balance=value, credit="0.00", total_balance="0.00"),
        error=lambda text: errors("100", "Error", text, status="400"),
        sim_account=SimAccount(
            PROVIDER, SIM_KEY, balance=Decimal("50.00"), credit_limit=Decimal("10.00")
        ),
        sim_request=("/v3/balance", {"Accept": MEDIA_TYPE, "Api-Key": SIM_KEY}),
    )
}

DOCUMENTED = Reading(
    currency="USD",
    balance=Decimal("50.00"),
    credit_limit=Decimal("10.00"),
    available_credit=Decimal("60.00"),
)

ANSWERS = [
    # The documented answer, in JSON:API's own media type: credit → credit limit,
    # total_balance → available credit.
    Answer(
        "documented",
        document(balance="50.00", credit="10.00", total_balance="60.00"),
        content_type=MEDIA_TYPE,
        reading=DOCUMENTED,
    ),
    Answer(
        "media-type-with-charset",
        document(balance="50.00", credit="10.00", total_balance="60.00"),
        content_type=f"{MEDIA_TYPE}; charset=utf-8",
        reading=DOCUMENTED,
    ),
    Answer(
        "without-meta",
        {"data": {"id": BALANCE_ID, "type": "balances", "attributes": {"balance": "0.00"}}},
        reading=Reading(currency="USD", balance=Decimal("0.00")),
    ),
    # The body names no currency: the setting labels every figure.
    Answer(
        "currency-setting",
        document(balance="12.30", credit="0.00", total_balance="12.30"),
        config={"currency": "EUR"},
        reading=Reading(
            currency="EUR",
            balance=Decimal("12.30"),
            credit_limit=Decimal("0.00"),
            available_credit=Decimal("12.30"),
        ),
    ),
    # Spending the credit line: below zero, money still available.
    Answer(
        "below-zero-within-credit",
        document(balance="-35.40", credit="100.00", total_balance="64.60"),
        reading=Reading(
            currency="USD",
            balance=Decimal("-35.40"),
            credit_limit=Decimal("100.00"),
            available_credit=Decimal("64.60"),
        ),
    ),
    Answer(
        "json-numbers-are-exact",
        '{"data": {"type": "balances", "attributes": {"balance": 0.1,'
        ' "credit": 100000000000000.01, "total_balance": 100000000000000.11}}}',
        reading=Reading(
            currency="USD",
            balance=Decimal("0.1"),
            credit_limit=Decimal("100000000000000.01"),
            available_credit=Decimal("100000000000000.11"),
        ),
    ),
    Answer(
        "credit-figures-null",
        document(balance="7.00", credit=None, total_balance=None),
        reading=Reading(currency="USD", balance=Decimal("7.00")),
    ),
    Answer(
        "balance-missing",
        document(credit="10.00", total_balance="10.00"),
        failure=Failure(
            Reason.INVALID_RESPONSE, "data.attributes.balance is null, not an amount", status=None
        ),
    ),
    Answer(
        "credit-not-a-plain-number",
        document(balance="1.00", credit="1,000.00", total_balance="1001.00"),
        failure=Failure(
            Reason.INVALID_RESPONSE, "data.attributes.credit is not a plain number: '1,000.00'"
        ),
    ),
    Answer(
        "another-resource",
        {"data": {"id": "x", "type": "dids", "attributes": {"balance": "1.00"}}},
        failure=Failure(Reason.INVALID_RESPONSE, "data.type is 'dids', expected 'balances'"),
    ),
    Answer(
        "no-type",
        {"data": {"attributes": {"balance": "1.00"}}},
        failure=Failure(
            Reason.INVALID_RESPONSE, "data.type is missing or not a string, expected 'balances'"
        ),
    ),
    # A collection where the singleton belongs.
    Answer(
        "data-a-list",
        {"data": [{"type": "balances", "attributes": {"balance": "1.00"}}]},
        failure=Failure(Reason.INVALID_RESPONSE, "data is a list, expected an object"),
    ),
    Answer(
        "no-attributes",
        {"data": {"id": BALANCE_ID, "type": "balances"}},
        failure=Failure(Reason.INVALID_RESPONSE, "data.attributes is null, expected an object"),
    ),
    # Errors: JSON:API error documents, codes and statuses as strings.
    Answer(
        "401",
        errors("401", "Unauthorized", "You are not authorized to access this resource."),
        status=401,
        content_type=MEDIA_TYPE,
        failure=Failure(
            Reason.AUTH,
            f"HTTP 401{HINT}, didww code 401: You are not authorized to access this resource.",
            code="401",
            retry_after=NO_WAIT,
        ),
    ),
    # The balance page documents the 401 without a body: the status says it all, and the hint.
    Answer("401-empty", "", status=401, failure=Failure(Reason.AUTH, f"HTTP 401{HINT}")),
    Answer(
        "403",
        errors("403", "Forbidden"),
        status=403,
        failure=Failure(Reason.AUTH, f"HTTP 403{HINT}, didww code 403: Forbidden"),
    ),
    Answer(
        "404-record-not-found",
        errors("404", "Record not found", "The record identified by 1 could not be found."),
        status=404,
        failure=Failure(
            Reason.CLIENT_ERROR,
            "HTTP 404, didww code 404: The record identified by 1 could not be found.",
            code="404",
        ),
    ),
    Answer(
        "404-title-only",
        errors("404", "Record not found"),
        status=404,
        failure=Failure(Reason.CLIENT_ERROR, "HTTP 404, didww code 404: Record not found"),
    ),
    # A validation error points at the request; the first error is the one reported.
    Answer(
        "400-validation-with-pointer",
        {
            "errors": [
                {
                    "title": "Invalid field value",
                    "detail": "bogus is not a valid value for version.",
                    "code": "103",
                    "status": "400",
                    "source": {"pointer": "/headers/X-DIDWW-API-Version"},
                },
                {"title": "Second", "detail": "not reported", "code": "100", "status": "400"},
            ]
        },
        status=400,
        failure=Failure(
            Reason.CLIENT_ERROR,
            "HTTP 400, didww code 103: bogus is not a valid value for version.",
            code="103",
        ),
    ),
    # No 429 is documented: it reads as any provider's, its wait taken where it is given.
    Answer(
        "429-jsonapi-retry-after",
        errors("429", "Too Many Requests", "Rate limit exceeded."),
        status=429,
        headers={"Retry-After": "1"},
        failure=Failure(
            Reason.RATE_LIMITED, "HTTP 429, didww code 429: Rate limit exceeded.", retry_after=1.0
        ),
    ),
    Answer(
        "429-bare",
        "",
        status=429,
        content_type="text/plain",
        failure=Failure(Reason.RATE_LIMITED, "HTTP 429", retry_after=NO_WAIT),
    ),
    Answer(
        "500",
        errors("500", "Internal Server Error", "Please try again later."),
        status=500,
        failure=Failure(
            Reason.SERVER_ERROR, "HTTP 500, didww code 500: Please try again later.", code="500"
        ),
    ),
    Answer(
        "502-html",
        "<html><body>Bad gateway</body></html>",
        status=502,
        content_type="text/html",
        failure=Failure(Reason.SERVER_ERROR, "HTTP 502"),
    ),
    # Like DIDWW's SDK: a body without ``errors`` says no more than the status.
    *(
        Answer(
            f"error-document-without-an-error-{index}",
            body,
            status=500,
            failure=Failure(Reason.SERVER_ERROR, "HTTP 500", code=None),
        )
        for index, body in enumerate(
            [{}, {"errors": []}, {"errors": "bad"}, {"errors": [1]}, {"error": "x"}]
        )
    ),
    # A key echoed where a figure, a type or a code belongs never shows in the failure.
    Answer(
        "key-echoed-as-balance",
        document(balance=API_KEY, credit="0.00", total_balance="0.00"),
        failure=Failure(Reason.INVALID_RESPONSE, contains=("data.attributes.balance",)),
    ),
    Answer(
        "key-echoed-as-type",
        {"data": {"type": API_KEY, "attributes": {"balance": "1.00"}}},
        failure=Failure(Reason.INVALID_RESPONSE, contains=("data.type",)),
    ),
    Answer(
        "key-echoed-in-an-error",
        errors(API_KEY, "Unauthorized", f"Api-Key {API_KEY} is not valid"),
        status=401,
        failure=Failure(Reason.AUTH, contains=(HINT, "is not valid")),
    ),
]

HEALTHY = document(balance="50.00", credit="10.00", total_balance="60.00")
UNAUTHORIZED = errors("401", "Unauthorized", "You are not authorized to access this resource.")
RATE_LIMITED = errors(
    "429",
    "Too Many Requests",
    "Rate limit exceeded: 20 requests per second for a single API key.",
)


def sim_body(body: dict[str, Any], key: str = SIM_KEY) -> dict[str, Any]:
    """``body`` with the simulated account's balance id, one UUID derived from its key."""
    served = copy.deepcopy(body)
    served["data"]["id"] = balance_id(key)
    return served


def sim_fault(fault: str, retry_after: str = "30") -> SimAccount:
    return replace(APIS[""].sim_account, fault=fault, retry_after=retry_after)


SIM_ANSWERS = [
    SimAnswer("healthy", APIS[""].sim_account, 200, sim_body(HEALTHY), served=True),
    # The SDKs send Content-Type too; the key is what decides.
    SimAnswer(
        "as-the-sdks-ask",
        APIS[""].sim_account,
        200,
        sim_body(HEALTHY),
        request=(
            "/v3/balance",
            {"Accept": MEDIA_TYPE, "Content-Type": MEDIA_TYPE, "Api-Key": SIM_KEY},
        ),
        served=True,
    ),
    SimAnswer(
        "without-a-credit-line",
        SimAccount(PROVIDER, SIM_KEY, balance=Decimal("-12.5")),
        200,
        sim_body(document(balance="-12.50", credit="0.00", total_balance="-12.50")),
        served=True,
    ),
    # Another currency changes nothing in the answer: DIDWW's names none.
    SimAnswer(
        "euro-account-in-credit",
        SimAccount(
            PROVIDER,
            SIM_KEY,
            balance=Decimal("-35.40"),
            currency="EUR",
            credit_limit=Decimal("100.00"),
        ),
        200,
        sim_body(document(balance="-35.40", credit="100.00", total_balance="64.60")),
        served=True,
    ),
    SimAnswer(
        "wrong-key",
        APIS[""].sim_account,
        401,
        UNAUTHORIZED,
        request=("/v3/balance", {"Accept": MEDIA_TYPE, "Api-Key": "wrong-key"}),
    ),
    SimAnswer(
        "key-as-bearer",
        APIS[""].sim_account,
        401,
        UNAUTHORIZED,
        request=("/v3/balance", {"Authorization": f"Bearer {SIM_KEY}"}),
    ),
    SimAnswer("no-key", APIS[""].sim_account, 401, UNAUTHORIZED, request=("/v3/balance", {})),
    SimAnswer("401", sim_fault("401"), 401, UNAUTHORIZED),
    SimAnswer(
        "403",
        sim_fault("403"),
        403,
        errors("403", "Forbidden", "You are not allowed to access this resource."),
    ),
    SimAnswer(
        "500",
        sim_fault("500"),
        500,
        errors("500", "Internal Server Error", "Please try again later."),
    ),
    SimAnswer(
        "503-retry-after",
        sim_fault("503-retry-after", retry_after="120"),
        503,
        errors("503", "Service Unavailable", "Please try again later."),
        headers={"Retry-After": "120"},
    ),
    SimAnswer(
        "429-seconds",
        sim_fault("429-seconds", retry_after="2"),
        429,
        RATE_LIMITED,
        headers={"Retry-After": "2"},
    ),
    SimAnswer("429-bare", sim_fault("429-bare"), 429, RATE_LIMITED, absent=("Retry-After",)),
    *(
        SimAnswer(
            fault,
            sim_fault(fault),
            200,
            sim_body(
                document(balance=value, credit="0.00", total_balance="0.00"), key="with-amount"
            ),
        )
        for fault, value in (("nan", "NaN"), ("infinity", "Infinity"), ("thousands", "1,000.00"))
    ),
]


test_answer, test_simulator_answer = table_tests(PROVIDER, APIS, ANSWERS, SIM_ANSWERS)


# --- what does not fit a row --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "url"),
    [
        (None, URL),
        ("https://sandbox-api.didww.com", "https://sandbox-api.didww.com/v3/balance"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/v3/balance"),
    ],
    ids=["production", "sandbox", "base-url"],
)
async def test_request_sent(
    base_url: str | None, url: str, http: Any, session: aiohttp.ClientSession
) -> None:
    adapter_ = provider_for(PROVIDER, APIS[""], base_url=base_url)
    mock_answer(http, url, APIS[""].success("1.00"))

    assert (await read(adapter_, session)).balance == Decimal("1.00")
    sent_url, headers = only_request(http)
    assert sent_url == url
    assert headers["Api-Key"] == API_KEY
    assert headers["Accept"] == MEDIA_TYPE
    assert "Authorization" not in headers  # the key has its own header, no scheme word


@pytest.mark.parametrize(
    ("more", "problem_line"),
    [
        # DIDWW's pages name the server with its /v3: the exporter adds it.
        (
            {"base_url": "https://sandbox-api.didww.com/v3"},
            "base_url: must not end in /v3, which is added to it:"
            " use https://sandbox-api.didww.com",
        ),
        (
            {"base_url": "http://127.0.0.1:8080/mock/v3/"},
            "base_url: must not end in /v3, which is added to it: use http://127.0.0.1:8080/mock",
        ),
        (
            {"currency": "usd"},
            "currency: not a valid value (the ISO 4217 code the account is billed in)",
        ),
        (
            {"currency": "credits"},
            "currency: not a valid value (the ISO 4217 code the account is billed in)",
        ),
    ],
    ids=["base-url-with-v3", "base-url-with-v3-and-slash", "currency-lower-case", "currency-word"],
)
def test_config_problem(more: dict[str, str], problem_line: str) -> None:
    assert config_problems(PROVIDER, APIS[""], **more) == [
        f"<case>: accounts[0] 'x': {problem_line}"
    ]


@pytest.mark.parametrize(
    "account",
    [
        APIS[""].sim_account,
        *(account for account, _ in SIMULATED[PROVIDER].demo_accounts().values()),
        SimAccount(PROVIDER, SIM_KEY, balance=Decimal("7.125")),  # more decimals than DIDWW's
    ],
    ids=["case-account", "demo-main", "demo-credit-eur", "three-decimals"],
)
async def test_the_exporter_shows_what_the_simulator_says(
    account: SimAccount, session: aiohttp.ClientSession
) -> None:
    # The adapter polls the simulator itself, its demo config keys included.
    simulated = replace(account, scenario=None)
    simulator = Simulator(clock=SimClock())
    simulator.add("case", simulated)
    client = TestClient(TestServer(simulator.app()))
    await client.start_server()
    try:
        sim = SIMULATED[PROVIDER]
        keys = {k: v for k, v in sim.config_settings(simulated).items() if k != "provider"}
        api = replace(APIS[""], config=keys)
        reading = await read(
            provider_for(PROVIDER, api, base_url=str(client.make_url(""))), session
        )
    finally:
        simulator.release.set()
        await client.close()
    assert simulated.served is not None
    shown = sim.shown(simulated, simulated.served)
    assert reading.currency == shown.currency
    figures = {
        "balance": reading.balance,
        "credit_limit": reading.credit_limit,
        "available_credit": reading.available_credit,
    }
    assert figures == shown.money
