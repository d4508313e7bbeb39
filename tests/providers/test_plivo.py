"""Plivo's case table: its API for the registry-wide suites, its answers, its simulator.

The Auth ID is the Basic user and names the path; the answer carries no currency, so the
``currency`` setting (default USD) labels ``cash_credits``. Error bodies have no code.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import encode_basic_auth
from provider_kit import (
    AUTH_TOKEN,
    NO_WAIT,
    Answer,
    Api,
    Failure,
    SimAnswer,
    account_for,
    config_problems,
    table_tests,
)

from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import Reason
from balance_exporter.providers.plivo import PlivoSettings
from balance_exporter.simulator import SimAccount
from balance_exporter.simulator.providers.plivo import PlivoSim

PROVIDER = "plivo"
AUTH_ID = "MA0123456789ABCDEFGH"
OTHER_AUTH_ID = "MAZZZZZZZZZZZZZZZZZZ"
SIM_TOKEN = "plivo-canary-Qm47"
# What the simulator derives from SIM_TOKEN; written out so that a changed derivation fails.
SIM_AUTH_ID = "MA6D51F9BC74630BDA5B"
SIM_PATH = f"/v1/Account/{SIM_AUTH_ID}/"
API_ID = "150892a0-922a-11e7-b6f4-061564b78b75"

APIS = {
    "": Api(
        config={"auth_id": AUTH_ID, "auth_token": AUTH_TOKEN},
        url=f"https://api.plivo.com/v1/Account/{AUTH_ID}/",
        headers={
            "Authorization": encode_basic_auth(AUTH_ID, AUTH_TOKEN),
            "Accept": "application/json",
        },
        success=lambda value: {"api_id": API_ID, "auth_id": AUTH_ID, "cash_credits": value},
        error=lambda text: {"api_id": API_ID, "error": text},
        sim_account=SimAccount(PROVIDER, SIM_TOKEN, balance=Decimal("4.8886")),
        sim_request=(SIM_PATH, {"Authorization": encode_basic_auth(SIM_AUTH_ID, SIM_TOKEN)}),
    )
}

# The documentation's example, as Plivo's SDK fixture has it.
DOCUMENTED = {
    "account_type": "standard",
    "address": "Wayne Enterprises Inc.",
    "api_id": API_ID,
    "auth_id": "MAXXXXXXXXXXXXXXXXXX",
    "auto_recharge": False,
    "billing_mode": "prepaid",
    "cash_credits": "4.88860",
    "city": "Gotham",
    "name": "Bruce Wayne",
    "resource_uri": "/v1/Account/MAXXXXXXXXXXXXXXXXXX/",
    "state": "NY",
    "timezone": "America/New_York",
}


def account(**fields: Any) -> dict[str, Any]:
    return {**DOCUMENTED, "auth_id": AUTH_ID, "resource_uri": f"/v1/Account/{AUTH_ID}/", **fields}


def error(text: str) -> dict[str, str]:
    return {"api_id": API_ID, "error": text}


def usd(balance: str, account_id: str | None = AUTH_ID) -> Reading:
    return Reading(currency="USD", balance=Decimal(balance), provider_account_id=account_id)


ANSWERS = [
    Answer(
        "documented-example",
        DOCUMENTED,
        reading=usd("4.88860", "MAXXXXXXXXXXXXXXXXXX"),
    ),
    # The body names no currency: the setting labels it, whatever Plivo bills in.
    Answer(
        "currency-from-the-setting",
        account(cash_credits="12.50000"),
        config={"currency": "EUR"},
        reading=Reading(currency="EUR", balance=Decimal("12.5"), provider_account_id=AUTH_ID),
    ),
    # Five decimals, read exactly (no float on the way).
    Answer(
        "decimal-string-is-exact",
        account(cash_credits="100000000000.00001"),
        reading=usd("100000000000.00001"),
    ),
    Answer(
        "json-number-is-exact",
        '{"cash_credits": 0.10001, "auth_id": "' + AUTH_ID + '"}',
        reading=usd("0.10001"),
    ),
    # Postpaid and trial accounts: the figure is still reported, below zero too (unverified).
    Answer(
        "postpaid-below-zero",
        account(billing_mode="postpaid", cash_credits="-3.20000"),
        reading=usd("-3.20000"),
    ),
    Answer(
        "developer-account",
        account(account_type="developer", cash_credits="0.00000"),
        reading=usd("0"),
    ),
    Answer(
        "auto-recharge",
        account(auto_recharge=True, cash_credits="25.00000"),
        reading=usd("25"),
    ),
    Answer(
        "without-auth-id",
        {"api_id": API_ID, "cash_credits": "1.00000"},
        reading=usd("1", None),
    ),
    Answer(
        "no-cash-credits",
        {key: value for key, value in DOCUMENTED.items() if key != "cash_credits"},
        failure=Failure(Reason.INVALID_RESPONSE, "response has no cash_credits field"),
    ),
    Answer(
        "null-cash-credits",
        account(cash_credits=None),
        failure=Failure(Reason.INVALID_RESPONSE, "cash_credits is null, not an amount"),
    ),
    Answer(
        "currency-in-cash-credits",
        account(cash_credits="4.88860 USD"),
        failure=Failure(
            Reason.INVALID_RESPONSE, "cash_credits is not a plain number: '4.88860 USD'"
        ),
    ),
    Answer(
        "auth-id-not-a-string",
        account(auth_id=7),
        failure=Failure(Reason.INVALID_RESPONSE, "response.auth_id is a number, expected a string"),
    ),
    # Errors: {api_id, error}, no code; the status decides (Plivo's SDK maps it the same way).
    Answer(
        "400",
        error("invalid parameter"),
        status=400,
        failure=Failure(Reason.CLIENT_ERROR, "HTTP 400: invalid parameter", code=None),
    ),
    # plivo-php #367: a 401 may come without api_id.
    Answer(
        "401-without-api-id",
        {"error": "authentication failed"},
        status=401,
        failure=Failure(Reason.AUTH, "HTTP 401: authentication failed", status=401),
    ),
    Answer(
        "401-with-api-id",
        error("authentication failed"),
        status=401,
        failure=Failure(Reason.AUTH, "HTTP 401: authentication failed"),
    ),
    Answer("401-empty", "", status=401, failure=Failure(Reason.AUTH, "HTTP 401")),
    Answer(
        "403",
        error("forbidden"),
        status=403,
        failure=Failure(Reason.AUTH, "HTTP 403: forbidden"),
    ),
    # A wrong Auth ID in the path (what Plivo answers then is unverified).
    Answer(
        "404",
        error("not found"),
        status=404,
        failure=Failure(Reason.CLIENT_ERROR, "HTTP 404: not found"),
    ),
    Answer(
        "405",
        error("method not allowed"),
        status=405,
        failure=Failure(Reason.CLIENT_ERROR, "HTTP 405: method not allowed"),
    ),
    # No wait header is documented: none asked for.
    Answer(
        "429",
        error("too many requests"),
        status=429,
        failure=Failure(Reason.RATE_LIMITED, "HTTP 429: too many requests", retry_after=NO_WAIT),
    ),
    Answer(
        "429-with-retry-after",
        error("too many requests"),
        status=429,
        headers={"Retry-After": "5"},
        failure=Failure(Reason.RATE_LIMITED, "HTTP 429: too many requests", retry_after=5.0),
    ),
    Answer(
        "500",
        error("server error"),
        status=500,
        failure=Failure(Reason.SERVER_ERROR, "HTTP 500: server error"),
    ),
    Answer(
        "500-html",
        "<html><body>Internal Server Error</body></html>",
        status=500,
        content_type="text/html",
        failure=Failure(Reason.SERVER_ERROR, "HTTP 500"),
    ),
    # Only a text is read from ``error``; anything else says no more than the status.
    *(
        Answer(
            f"error-that-is-not-a-text-{index}",
            {"api_id": API_ID, "error": value},
            status=400,
            failure=Failure(Reason.CLIENT_ERROR, "HTTP 400"),
        )
        for index, value in enumerate([{"to": ["required"]}, ["invalid"], None, True])
    ),
    # An echoed token never shows in the failure (the kit checks every 12-character piece).
    Answer(
        "token-echoed-in-an-error",
        error(f"bad token {AUTH_TOKEN}"),
        status=401,
        failure=Failure(Reason.AUTH, contains=("HTTP 401: bad token",)),
    ),
    Answer(
        "token-echoed-as-cash-credits",
        account(cash_credits=AUTH_TOKEN),
        failure=Failure(Reason.INVALID_RESPONSE, contains=("cash_credits",)),
    ),
]


def sim_body(cash_credits: str) -> dict[str, Any]:
    return {
        "account_type": "standard",
        "address": "",
        "api_id": API_ID,
        "auth_id": SIM_AUTH_ID,
        "auto_recharge": False,
        "billing_mode": "prepaid",
        "cash_credits": cash_credits,
        "city": "",
        "name": "Balance Exporter Demo",
        "resource_uri": SIM_PATH,
        "state": "",
        "timezone": "America/New_York",
    }


SIM_401 = {"error": "authentication failed"}
SIM_429 = error("too many requests")


def sim_fault(fault: str, retry_after: str = "30") -> SimAccount:
    return replace(APIS[""].sim_account, fault=fault, retry_after=retry_after)


def with_auth(user: str, password: str, path_id: str = SIM_AUTH_ID) -> tuple[str, dict[str, str]]:
    return f"/v1/Account/{path_id}/", {"Authorization": encode_basic_auth(user, password)}


SIM_ANSWERS = [
    SimAnswer("healthy", APIS[""].sim_account, 200, sim_body("4.88860"), served=True),
    # cash_credits always has five decimals.
    SimAnswer(
        "five-decimals",
        replace(APIS[""].sim_account, balance=Decimal("1234.5")),
        200,
        sim_body("1234.50000"),
        served=True,
    ),
    SimAnswer(
        "below-zero",
        replace(APIS[""].sim_account, balance=Decimal("-12.5")),
        200,
        sim_body("-12.50000"),
        served=True,
    ),
    # The Auth ID must be the account's, in the path and as the user alike.
    SimAnswer(
        "wrong-token",
        APIS[""].sim_account,
        401,
        SIM_401,
        request=with_auth(SIM_AUTH_ID, "wrong-token"),
    ),
    SimAnswer(
        "other-auth-id-in-the-path",
        APIS[""].sim_account,
        401,
        SIM_401,
        request=with_auth(SIM_AUTH_ID, SIM_TOKEN, OTHER_AUTH_ID),
    ),
    SimAnswer(
        "other-auth-id-as-user",
        APIS[""].sim_account,
        401,
        SIM_401,
        request=with_auth(OTHER_AUTH_ID, SIM_TOKEN),
    ),
    SimAnswer(
        "bearer-instead-of-basic",
        APIS[""].sim_account,
        401,
        SIM_401,
        request=(SIM_PATH, {"Authorization": f"Bearer {SIM_TOKEN}"}),
    ),
    SimAnswer("no-authorization", APIS[""].sim_account, 401, SIM_401, request=(SIM_PATH, {})),
    # Faults, in Plivo's shapes.
    SimAnswer("401", sim_fault("401"), 401, SIM_401),
    SimAnswer("403", sim_fault("403"), 403, error("forbidden")),
    SimAnswer("500", sim_fault("500"), 500, error("server error")),
    SimAnswer(
        "503-retry-after",
        sim_fault("503-retry-after", retry_after="120"),
        503,
        error("server error"),
        headers={"Retry-After": "120"},
    ),
    SimAnswer(
        "429-seconds",
        sim_fault("429-seconds", retry_after="37"),
        429,
        SIM_429,
        headers={"Retry-After": "37"},
    ),
    SimAnswer("429-bare", sim_fault("429-bare"), 429, SIM_429, absent=("Retry-After",)),
    SimAnswer(
        "429-date",
        sim_fault("429-date"),
        429,
        SIM_429,
        headers={"Retry-After": "Fri, 13 Feb 2026 16:27:10 GMT"},
    ),
    *(
        SimAnswer(
            fault,
            sim_fault(fault),
            200,
            {
                **sim_body(value),
                "auth_id": "MAXXXXXXXXXXXXXXXXXX",
                "resource_uri": "/v1/Account/MAXXXXXXXXXXXXXXXXXX/",
            },
        )
        for fault, value in (("nan", "NaN"), ("infinity", "Infinity"), ("thousands", "1,000.00"))
    ),
]


test_answer, test_simulator_answer = table_tests(PROVIDER, APIS, ANSWERS, SIM_ANSWERS)


# --- what does not fit a row --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("more", "problem_line"),
    [
        ({"auth_id": "MA0123"}, "auth_id: not a valid value (MA or SA followed by 18 A-Z0-9)"),
        # Lower case, or a path the Auth ID would smuggle in.
        (
            {"auth_id": "ma0123456789abcdefgh"},
            "auth_id: not a valid value (MA or SA followed by 18 A-Z0-9)",
        ),
        (
            {"auth_id": "MA0123456789ABCDEF/.."},
            "auth_id: not a valid value (MA or SA followed by 18 A-Z0-9)",
        ),
        ({"currency": "usd"}, "currency: not a valid value (ISO 4217 code, e.g. USD)"),
        ({"currency": "US$"}, "currency: not a valid value (ISO 4217 code, e.g. USD)"),
    ],
    ids=["short-auth-id", "lower-case-auth-id", "auth-id-with-a-path", "lower-case", "symbol"],
)
def test_config_problem(more: dict[str, str], problem_line: str) -> None:
    assert config_problems(PROVIDER, APIS[""], **more) == [
        f"<case>: accounts[0] 'x': {problem_line}"
    ]


def test_subaccount_auth_id_and_default_currency() -> None:
    settings = account_for(PROVIDER, APIS[""], auth_id="SA0123456789ABCDEFGH").settings
    assert isinstance(settings, PlivoSettings)
    assert (settings.auth_id, settings.currency) == ("SA0123456789ABCDEFGH", "USD")


def test_simulator_config_polls_its_account() -> None:
    # The demo's config names the Auth ID the simulator derives, and a currency beyond USD.
    sim = PlivoSim()
    assert sim.config_settings(APIS[""].sim_account) == {
        "provider": "plivo",
        "auth_id": SIM_AUTH_ID,
        "auth_token": SIM_TOKEN,
    }
    euro = replace(APIS[""].sim_account, currency="EUR")
    assert sim.config_settings(euro)["currency"] == "EUR"
