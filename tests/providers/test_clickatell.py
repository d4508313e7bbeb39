"""Clickatell's case table: its two APIs (REST, platform) for the registry-wide suites, their
answers and their simulator."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from provider_kit import (
    API_KEY,
    USER_AGENT,
    Answer,
    Api,
    Failure,
    SimAnswer,
    mock_answer,
    only_request,
    provider_for,
    read,
    table_tests,
)

from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import Reason
from balance_exporter.simulator import SimAccount
from balance_exporter.simulator.providers.clickatell import PLATFORM_STATES

PROVIDER = "clickatell"
SIM_KEY = "ck-canary-Qm47"
SIM_PLATFORM_KEY = "ckp-canary-Qm47"
REST_PATH = "/rest/account/balance"
PLATFORM_PATH = "/public-client/balance"
JSON_TYPE = "application/json; charset=utf-8"

APIS = {
    "rest": Api(
        config={"api_key": API_KEY},  # api: rest is the default
        url=f"https://api.clickatell.com{REST_PATH}",
        headers={
            "X-Version": "1",
            "Accept": "application/json",
            "Authorization": f"Bearer {API_KEY}",
        },
        success=lambda value: {"data": {"balance": value}},
        error=lambda text: {"error": {"code": "101", "description": text}},
        sim_account=SimAccount(PROVIDER, SIM_KEY, balance=Decimal("300.50"), variant="rest"),
        sim_request=(
            REST_PATH,
            {"X-Version": "1", "Authorization": f"Bearer {SIM_KEY}", "Accept": "application/json"},
        ),
    ),
    "platform": Api(
        config={"api": "platform", "api_key": API_KEY},
        url=f"https://platform.clickatell.com{PLATFORM_PATH}",
        headers={"Authorization": API_KEY},  # the bare key, no Bearer
        success=lambda value: {"balance": value, "currency": "ZAR"},
        error=lambda text: {"errorCode": 101, "error": text, "errorDescription": text},
        sim_account=SimAccount(
            PROVIDER,
            SIM_PLATFORM_KEY,
            balance=Decimal("1267.92865"),
            currency="ZAR",
            variant="platform",
        ),
        sim_request=(PLATFORM_PATH, {"Authorization": SIM_PLATFORM_KEY}),
    ),
}


def error(code: str | int, description: str) -> dict[str, Any]:
    """The error body both APIs send (REST codes zero-padded strings, platform numbers)."""
    return {"error": {"code": code, "description": description, "documentation": ""}}


def failed(status: int, code: str, text: str, reason: Reason) -> Failure:
    return Failure(reason, f"HTTP {status}, clickatell code {code}: {text}", code=code)


RATE_LIMIT_BODIES = [
    {
        "errorCode": 43,
        "error": "Rate limit exceeded",
        "errorDescription": "Too many requests",
    },
    {"error": {"code": 43, "description": "Too many requests"}},
    {"error": {"code": "043", "description": "Too many requests"}},
]

ANSWERS = [
    # --- REST: credits, not money ---
    Answer(
        "rest-success-counts-credits",
        {"data": {"balance": "300.50"}},
        api="rest",
        reading=Reading(currency="credits", balance=Decimal("300.50")),
    ),
    Answer(
        "rest-configured-currency",
        {"data": {"balance": 12}},
        api="rest",
        config={"currency": "EUR"},
        reading=Reading(currency="EUR", balance=Decimal("12")),
    ),
    *(
        Answer(
            f"rest-wrong-shape-{index}",
            body,
            api="rest",
            failure=Failure(Reason.INVALID_RESPONSE),
        )
        for index, body in enumerate(
            [{"data": []}, {"balance": "300.50"}, {"data": {"balance": None}}]
        )
    ),
    Answer(
        "rest-401-zero-padded-code",
        {
            "error": {
                "code": "001",
                "description": "Authentication failed",
                "documentation": "http://www.clickatell.com/help/apidocs/error/001.htm",
            }
        },
        status=401,
        api="rest",
        failure=failed(401, "1", "Authentication failed", Reason.AUTH),
    ),
    # Code 7 decides over the status: the key is fine, the caller's IP is not.
    Answer(
        "rest-ip-lockdown-on-400",
        {"error": {"code": "007", "description": "IP Lockdown violation"}},
        status=400,
        api="rest",
        failure=failed(400, "7", "IP Lockdown violation", Reason.AUTH),
    ),
    Answer(
        "rest-invalid-parameters",
        {"error": {"code": "101", "description": "Invalid or missing parameters"}},
        status=400,
        api="rest",
        failure=failed(400, "101", "Invalid or missing parameters", Reason.CLIENT_ERROR),
    ),
    Answer(
        "rest-429",
        error("044", "Too many requests"),
        status=429,
        headers={"Retry-After": "30"},
        api="rest",
        failure=Failure(
            Reason.RATE_LIMITED,
            "HTTP 429, clickatell code 44: Too many requests",
            code="44",
            retry_after=30.0,
        ),
    ),
    # A code of digits that are not ASCII ones is kept as it is, not a crash.
    Answer(
        "rest-code-of-other-digits",
        {"error": {"code": "²", "description": "Authentication failed"}},
        status=401,
        api="rest",
        failure=failed(401, "²", "Authentication failed", Reason.AUTH),
    ),
    # Too long for int(): the zeros go all the same.
    Answer(
        "rest-code-of-many-zeros",
        {"error": {"code": "0" * 5000 + "7", "description": "IP Lockdown violation"}},
        status=400,
        api="rest",
        failure=failed(400, "7", "IP Lockdown violation", Reason.AUTH),
    ),
    # --- platform: its own currency, its codes over its statuses ---
    Answer(
        "platform-success",
        {"balance": 1267.92865, "currency": "ZAR"},
        api="platform",
        reading=Reading(currency="ZAR", balance=Decimal("1267.92865")),
    ),
    Answer(
        "platform-configured-currency-wins",
        {"balance": "10", "currency": "ZAR"},
        api="platform",
        config={"currency": "USD"},
        reading=Reading(currency="USD", balance=Decimal("10")),
    ),
    *(
        Answer(
            f"platform-wrong-shape-{index}",
            body,
            api="platform",
            failure=Failure(Reason.INVALID_RESPONSE),
        )
        for index, body in enumerate(
            [{"balance": None, "currency": "ZAR"}, {"balance": 1, "currency": 710}]
        )
    ),
    *(
        Answer(
            f"platform-rate-limit-is-http-400-code-43-{index}",
            body,
            status=400,
            headers={"Retry-After": "60"},
            api="platform",
            failure=Failure(
                Reason.RATE_LIMITED,
                "HTTP 400, clickatell code 43: Too many requests",
                code="43",
                retry_after=60.0,
            ),
        )
        for index, body in enumerate(RATE_LIMIT_BODIES)
    ),
    Answer(
        "platform-401-integration-key",
        {
            "errorCode": 1,
            "error": "Invalid or missing Integration API Key",
            "errorDescription": "Invalid or missing Integration API Key",
        },
        status=401,
        api="platform",
        failure=failed(401, "1", "Invalid or missing Integration API Key", Reason.AUTH),
    ),
    Answer(
        "platform-401-code-1",
        error(1, "Authentication failed"),
        status=401,
        api="platform",
        failure=failed(401, "1", "Authentication failed", Reason.AUTH),
    ),
    Answer(
        "platform-ip-not-approved-is-401-code-7",
        error(7, "IP not approved"),
        status=401,
        api="platform",
        failure=failed(401, "7", "IP not approved", Reason.AUTH),
    ),
    # An account state for the operator to fix, not a bad request.
    Answer(
        "platform-account-inactive-is-auth",
        error(2, "Account is not active"),
        status=400,
        api="platform",
        failure=failed(400, "2", "Account is not active", Reason.AUTH),
    ),
    Answer(
        "platform-integration-inactive-is-auth",
        error(3, "Integration is not active"),
        status=400,
        api="platform",
        failure=failed(400, "3", "Integration is not active", Reason.AUTH),
    ),
    Answer(
        "platform-code-19-retries",
        error(19, "Service temporarily unavailable"),
        status=503,
        api="platform",
        failure=failed(503, "19", "Service temporarily unavailable", Reason.SERVER_ERROR),
    ),
    Answer(
        "platform-code-20-payment-required",
        error(20, "Insufficient credit"),
        status=402,
        api="platform",
        failure=failed(402, "20", "Insufficient credit", Reason.CLIENT_ERROR),
    ),
    Answer(
        "platform-error-text-only",
        {"messages": [], "error": "Some error occured"},
        status=400,
        api="platform",
        failure=Failure(Reason.CLIENT_ERROR, "HTTP 400: Some error occured"),
    ),
    Answer(
        "platform-500-text-only",
        {"error": "Internal error"},
        status=500,
        api="platform",
        failure=Failure(Reason.SERVER_ERROR, "HTTP 500: Internal error"),
    ),
]


def sim_rest(**more: Any) -> SimAccount:
    return SimAccount(PROVIDER, SIM_KEY, balance=Decimal("300.50"), variant="rest", **more)


def sim_platform(**more: Any) -> SimAccount:
    return SimAccount(
        PROVIDER,
        SIM_PLATFORM_KEY,
        balance=Decimal("1267.92865"),
        currency="ZAR",
        variant="platform",
        **more,
    )


REST_UNAUTHORIZED = error("001", "Authentication failed")
PLATFORM_UNAUTHORIZED = error(1, "Authentication failed")
RETRY_DATE = "Fri, 13 Feb 2026 16:27:10 GMT"  # the simulator's wall clock and 30 seconds

SIM_ANSWERS = [
    # --- REST ---
    SimAnswer(
        "rest-healthy",
        APIS["rest"].sim_account,
        200,
        {"data": {"balance": "300.50"}},
        headers={"Content-Type": JSON_TYPE},
        served=True,
    ),
    SimAnswer(
        "rest-xml-to-an-xml-request",
        APIS["rest"].sim_account,
        200,
        '<?xml version="1.0"?>\n<response>\n    <data>\n'
        "        <balance>300.50</balance>\n    </data>\n</response>\n",
        headers={"Content-Type": "application/xml; charset=utf-8"},
        request=(
            REST_PATH,
            {"X-Version": "1", "Authorization": f"Bearer {SIM_KEY}", "Accept": "application/xml"},
        ),
        served=True,
    ),
    SimAnswer(
        "rest-wrong-key",
        APIS["rest"].sim_account,
        401,
        REST_UNAUTHORIZED,
        request=(
            REST_PATH,
            {"X-Version": "1", "Authorization": "Bearer wrong", "Accept": "application/json"},
        ),
    ),
    SimAnswer(
        "rest-without-x-version",
        APIS["rest"].sim_account,
        401,
        REST_UNAUTHORIZED,
        request=(REST_PATH, {"Authorization": f"Bearer {SIM_KEY}", "Accept": "application/json"}),
    ),
    SimAnswer(
        "rest-without-bearer",
        APIS["rest"].sim_account,
        401,
        REST_UNAUTHORIZED,
        request=(
            REST_PATH,
            {"X-Version": "1", "Authorization": SIM_KEY, "Accept": "application/json"},
        ),
    ),
    SimAnswer("rest-401", sim_rest(fault="401"), 401, REST_UNAUTHORIZED),
    SimAnswer("rest-403", sim_rest(fault="403"), 403, error("007", "IP Lockdown violation")),
    SimAnswer(
        "rest-500",
        sim_rest(fault="500"),
        500,
        error("999", "Internal error"),
        absent=("Retry-After",),
    ),
    SimAnswer(
        "rest-503-retry-after",
        sim_rest(fault="503-retry-after"),
        503,
        error("999", "Internal error"),
        headers={"Retry-After": "30"},
    ),
    SimAnswer(
        "rest-429-seconds",
        sim_rest(fault="429-seconds"),
        429,
        error("044", "Too many requests"),
        headers={"Retry-After": "30"},
    ),
    SimAnswer(
        "rest-429-date",
        sim_rest(fault="429-date"),
        429,
        error("044", "Too many requests"),
        headers={"Retry-After": RETRY_DATE},
    ),
    SimAnswer(
        "rest-429-bare",
        sim_rest(fault="429-bare"),
        429,
        error("044", "Too many requests"),
        absent=("Retry-After",),
    ),
    *(
        SimAnswer(f"rest-{fault}", sim_rest(fault=fault), 200, {"data": {"balance": value}})
        for fault, value in [("nan", "NaN"), ("infinity", "Infinity"), ("thousands", "1,000.00")]
    ),
    # --- platform ---
    SimAnswer(
        "platform-healthy",
        APIS["platform"].sim_account,
        200,
        {"balance": 1267.92865, "currency": "ZAR"},
        headers={"Content-Type": JSON_TYPE},
        served=True,
    ),
    SimAnswer(
        "platform-wrong-key",
        APIS["platform"].sim_account,
        401,
        PLATFORM_UNAUTHORIZED,
        request=(PLATFORM_PATH, {"Authorization": "wrong"}),
    ),
    SimAnswer(
        "platform-with-bearer-prefix",
        APIS["platform"].sim_account,
        401,
        PLATFORM_UNAUTHORIZED,
        request=(PLATFORM_PATH, {"Authorization": f"Bearer {SIM_PLATFORM_KEY}"}),
    ),
    SimAnswer("platform-401", sim_platform(fault="401"), 401, PLATFORM_UNAUTHORIZED),
    # The platform has no 403: a key used from an address it does not know is 401 code 7.
    SimAnswer(
        "platform-403-is-401-code-7", sim_platform(fault="403"), 401, error(7, "IP not approved")
    ),
    SimAnswer(
        "platform-500",
        sim_platform(fault="500"),
        500,
        error(999, "Internal error"),
        absent=("Retry-After",),
    ),
    SimAnswer(
        "platform-503-retry-after",
        sim_platform(fault="503-retry-after"),
        503,
        error(999, "Internal error"),
        headers={"Retry-After": "30"},
    ),
    SimAnswer(
        "platform-429-seconds-is-400-code-43",
        sim_platform(fault="429-seconds"),
        400,
        error(43, "Rate limit exceeded"),
        headers={"Retry-After": "30"},
    ),
    SimAnswer(
        "platform-429-date",
        sim_platform(fault="429-date"),
        400,
        error(43, "Rate limit exceeded"),
        headers={"Retry-After": RETRY_DATE},
    ),
    SimAnswer(
        "platform-429-bare",
        sim_platform(fault="429-bare"),
        400,
        error(43, "Rate limit exceeded"),
        absent=("Retry-After",),
    ),
    *(
        SimAnswer(
            f"platform-{fault}",
            sim_platform(fault=fault),
            200,
            {"balance": value, "currency": "ZAR"},
        )
        for fault, value in [("nan", "NaN"), ("infinity", "Infinity"), ("thousands", "1,000.00")]
    ),
    SimAnswer(
        "platform-account-inactive",
        sim_platform(state="account-inactive"),
        400,
        error(2, "Account is not active"),
    ),
    SimAnswer(
        "platform-integration-inactive",
        sim_platform(state="integration-inactive"),
        400,
        error(3, "Integration is not active"),
    ),
    SimAnswer(
        "platform-temporarily-unavailable",
        sim_platform(state="temporarily-unavailable"),
        503,
        error(19, "Service temporarily unavailable"),
    ),
    SimAnswer(
        "platform-payment-required",
        sim_platform(state="payment-required"),
        402,
        error(20, "Insufficient credit"),
    ),
    SimAnswer(
        "platform-error-text-only",
        sim_platform(state="error-text-only"),
        400,
        {"messages": [], "error": "Some error occured"},
    ),
]


test_answer, test_simulator_answer = table_tests(PROVIDER, APIS, ANSWERS, SIM_ANSWERS)


# --- what does not fit a row ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "more"),
    [("rest", {}), ("rest", {"api": "rest"}), ("platform", {})],
    ids=["rest-by-default", "rest-chosen", "platform"],
)
async def test_request_is_exactly_the_documented_one(
    variant: str, more: dict[str, str], http: Any, session: aiohttp.ClientSession
) -> None:
    # Exactly these headers: the platform gets no X-Version and no Bearer.
    api = replace(APIS[variant], config={**APIS[variant].config, **more})
    mock_answer(http, api.url, api.success("1"))
    await read(provider_for(PROVIDER, api), session)
    assert only_request(http) == (api.url, {"User-Agent": USER_AGENT, **api.headers})


async def test_rest_credits_keep_their_digits(http: Any, session: aiohttp.ClientSession) -> None:
    # Reading compares amounts as numbers; the trailing zero is checked here.
    api = APIS["rest"]
    mock_answer(http, api.url, {"data": {"balance": "300.50"}})
    reading = await read(provider_for(PROVIDER, api), session)
    assert str(reading.balance) == "300.50"


def test_every_platform_state_has_a_row() -> None:
    covered = {case.account.state for case in SIM_ANSWERS if case.account.variant == "platform"}
    assert set(PLATFORM_STATES) <= covered
