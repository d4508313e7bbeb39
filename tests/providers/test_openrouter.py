"""OpenRouter's case table: its two APIs (credits, key) for the registry-wide suites, their
answers and their simulator."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from provider_kit import (
    API_KEY,
    NO_WAIT,
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
from balance_exporter.providers.openrouter import MANAGEMENT_KEY_HINT, NO_LIMIT_NOTE
from balance_exporter.simulator import SimAccount

PROVIDER = "openrouter"
SIM_KEY = "sk-or-v1-canary-Qm47"
SIM_INFERENCE_KEY = "sk-or-v1-inference-Qm47"
CREDITS_PATH = "/api/v1/credits"
KEY_PATH = "/api/v1/key"
HOST = "https://openrouter.ai"
JSON_TYPE = "application/json; charset=utf-8"
MANAGEMENT_ONLY = "Only management keys can perform this operation"

APIS = {
    "credits": Api(
        config={"api_key": API_KEY},  # api: credits is the default
        url=f"{HOST}{CREDITS_PATH}",
        headers={"Authorization": f"Bearer {API_KEY}", "Accept": "application/json"},
        success=lambda value: {"data": {"total_credits": value, "total_usage": 0}},
        error=lambda text: {"error": {"code": 418, "message": text}},
        sim_account=SimAccount(PROVIDER, SIM_KEY, balance=Decimal("74.75"), variant="credits"),
        sim_request=(CREDITS_PATH, {"Authorization": f"Bearer {SIM_KEY}"}),
    ),
    "key": Api(
        config={"api": "key", "api_key": API_KEY},
        url=f"{HOST}{KEY_PATH}",
        headers={"Authorization": f"Bearer {API_KEY}", "Accept": "application/json"},
        success=lambda value: {
            "data": {"limit": 100, "limit_remaining": value, "usage": 25.5, "is_free_tier": False}
        },
        error=lambda text: {"error": {"code": 418, "message": text}},
        sim_account=SimAccount(PROVIDER, SIM_INFERENCE_KEY, balance=Decimal("74.5"), variant="key"),
        sim_request=(KEY_PATH, {"Authorization": f"Bearer {SIM_INFERENCE_KEY}"}),
    ),
}


def error(code: int, message: str, **more: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **more}}


def credits(total: Any, usage: Any) -> dict[str, Any]:
    return {"data": {"total_credits": total, "total_usage": usage}}


def usd(balance: str) -> Reading:
    return Reading(currency="USD", balance=Decimal(balance))


# The documented /key answer, as OpenRouter's SDK model shows it.
KEY_DATA: dict[str, Any] = {
    "label": "sk-or-v1-au7...890",
    "limit": 100,
    "limit_remaining": 74.5,
    "limit_reset": "monthly",
    "usage": 25.5,
    "usage_daily": 25.5,
    "is_free_tier": False,
    "is_management_key": False,
    "include_byok_in_limit": False,
    "expires_at": "2027-12-31T23:59:59Z",
    "rate_limit": {"requests": 1000, "interval": "1h"},
}
NO_LIMIT_DATA = {**KEY_DATA, "limit": None, "limit_remaining": None, "limit_reset": None}
NEEDS_MANAGEMENT = Failure(
    Reason.AUTH, f"HTTP 403 ({MANAGEMENT_KEY_HINT}): {MANAGEMENT_ONLY}", code=None, status=403
)

ANSWERS = [
    # --- credits: account-wide, what was bought less what was used ---
    Answer("credits-success", credits(100.5, 25.75), api="credits", reading=usd("74.75")),
    # Usage carries many decimals; the difference is exact, from the JSON text.
    Answer(
        "credits-usage-with-many-decimals",
        '{"data": {"total_credits": 10, "total_usage": 0.1015644762}}',
        api="credits",
        reading=usd("9.8984355238"),
    ),
    Answer("credits-nothing-used", credits(20, 0), api="credits", reading=usd("20")),
    Answer("credits-overspent", credits(5, 5.25), api="credits", reading=usd("-0.25")),
    # Too many digits to subtract exactly: a broken answer, not a rounded balance.
    Answer(
        "credits-too-many-digits",
        '{"data": {"total_credits": 100000000000000.5, "total_usage": 0.10156447620000000001}}',
        api="credits",
        failure=Failure(
            Reason.INVALID_RESPONSE, "data.total_credits - data.total_usage has too many digits"
        ),
    ),
    Answer(
        "credits-without-usage",
        {"data": {"total_credits": 100.5}},
        api="credits",
        failure=Failure(Reason.INVALID_RESPONSE, "data.total_usage is null, not an amount"),
    ),
    Answer(
        "credits-usage-not-a-number",
        credits(100.5, "25,75"),
        api="credits",
        failure=Failure(Reason.INVALID_RESPONSE, "data.total_usage is not a plain number: '25,75'"),
    ),
    *(
        Answer(
            f"credits-wrong-shape-{index}",
            body,
            api="credits",
            failure=Failure(Reason.INVALID_RESPONSE),
        )
        for index, body in enumerate(
            [{"data": []}, {"total_credits": 100.5, "total_usage": 25.75}, {"data": None}]
        )
    ),
    Answer(
        "credits-401",
        error(401, "No auth credentials found"),
        status=401,
        api="credits",
        failure=Failure(Reason.AUTH, "HTTP 401: No auth credentials found", code=None),
    ),
    Answer(
        "credits-401-missing-header",
        error(401, "Missing Authentication header"),
        status=401,
        api="credits",
        failure=Failure(Reason.AUTH, "HTTP 401: Missing Authentication header"),
    ),
    # An inference key on /credits: the failure says what to do.
    Answer(
        "credits-403-needs-a-management-key",
        error(403, MANAGEMENT_ONLY),
        status=403,
        api="credits",
        failure=NEEDS_MANAGEMENT,
    ),
    Answer(
        "credits-403-with-openrouter-metadata",
        {**error(403, MANAGEMENT_ONLY), "openrouter_metadata": {}, "user_id": "user_2abc"},
        status=403,
        api="credits",
        failure=NEEDS_MANAGEMENT,
    ),
    Answer(
        "credits-403-without-a-body",
        "",
        status=403,
        api="credits",
        failure=Failure(Reason.AUTH, f"HTTP 403 ({MANAGEMENT_KEY_HINT})"),
    ),
    Answer(
        "credits-429-retry-after",
        error(429, "Rate limit exceeded"),
        status=429,
        headers={"Retry-After": "30"},
        api="credits",
        failure=Failure(Reason.RATE_LIMITED, "HTTP 429: Rate limit exceeded", retry_after=30.0),
    ),
    Answer(
        "credits-500",
        error(500, "Internal Server Error"),
        status=500,
        api="credits",
        failure=Failure(Reason.SERVER_ERROR, "HTTP 500: Internal Server Error"),
    ),
    # metadata says nothing about the balance; a code that is not the status is kept.
    Answer(
        "credits-502-with-metadata-and-another-code",
        error(500, "Upstream error", metadata={"raw": "x" * 50}),
        status=502,
        api="credits",
        failure=Failure(
            Reason.SERVER_ERROR, "HTTP 502, openrouter code 500: Upstream error", code="500"
        ),
    ),
    *(
        Answer(
            f"credits-error-body-without-an-error-{index}",
            body,
            status=401,
            api="credits",
            failure=Failure(Reason.AUTH, "HTTP 401"),
        )
        for index, body in enumerate([{}, {"error": "bad"}, {"error": [1]}, {"message": "x"}])
    ),
    Answer(
        "credits-key-echoed-in-the-message",
        error(401, f"Invalid key {API_KEY}"),
        status=401,
        api="credits",
        failure=Failure(Reason.AUTH, contains=("HTTP 401: Invalid key",)),
    ),
    Answer(
        "credits-key-echoed-as-a-figure",
        credits(API_KEY, 0),
        api="credits",
        failure=Failure(Reason.INVALID_RESPONSE, contains=("data.total_credits",)),
    ),
    # --- key: the key's own cap ---
    Answer("key-success", {"data": KEY_DATA}, api="key", reading=usd("74.5")),
    Answer(
        "key-legacy-body",
        {"data": {"label": "x", "limit": 10, "limit_remaining": "2.5", "usage": 7.5}},
        api="key",
        reading=usd("2.5"),
    ),
    Answer(
        "key-cap-used-up",
        {"data": {**KEY_DATA, "limit_remaining": 0, "usage": 100}},
        api="key",
        reading=usd("0"),
    ),
    # No cap: a valid answer without a balance, and the note says why.
    Answer(
        "key-without-a-limit",
        {"data": NO_LIMIT_DATA},
        api="key",
        reading=Reading(currency="USD", note=NO_LIMIT_NOTE),
    ),
    Answer(
        "key-without-a-limit-field",
        {"data": {"limit_remaining": 74.5, "usage": 25.5}},
        api="key",
        failure=Failure(Reason.INVALID_RESPONSE, "data has no limit field"),
    ),
    Answer(
        "key-limit-without-remaining",
        {"data": {**KEY_DATA, "limit_remaining": None}},
        api="key",
        failure=Failure(
            Reason.INVALID_RESPONSE, "data.limit_remaining is missing though data.limit is set"
        ),
    ),
    Answer(
        "key-limit-not-a-number",
        {"data": {**KEY_DATA, "limit": "unlimited"}},
        api="key",
        failure=Failure(Reason.INVALID_RESPONSE, "data.limit is not a plain number: 'unlimited'"),
    ),
    Answer(
        "key-wrong-shape",
        {"limit": 100, "limit_remaining": 74.5},
        api="key",
        failure=Failure(Reason.INVALID_RESPONSE, "data is null, expected an object"),
    ),
    Answer(
        "key-401",
        error(401, "No auth credentials found"),
        status=401,
        api="key",
        failure=Failure(Reason.AUTH, "HTTP 401: No auth credentials found"),
    ),
    # Only /credits wants a management key: no hint here.
    Answer(
        "key-403-without-the-hint",
        error(403, "Forbidden"),
        status=403,
        api="key",
        failure=Failure(Reason.AUTH, "HTTP 403: Forbidden"),
    ),
    Answer(
        "key-429-without-retry-after",
        error(429, "Rate limit exceeded"),
        status=429,
        api="key",
        failure=Failure(Reason.RATE_LIMITED, "HTTP 429: Rate limit exceeded", retry_after=NO_WAIT),
    ),
    Answer(
        "key-503",
        error(503, "Service Unavailable"),
        status=503,
        api="key",
        failure=Failure(Reason.SERVER_ERROR, "HTTP 503: Service Unavailable"),
    ),
]


def sim_credits(**more: Any) -> SimAccount:
    return replace(APIS["credits"].sim_account, **more)


def sim_key(**more: Any) -> SimAccount:
    return replace(APIS["key"].sim_account, **more)


CREDITS_OK = credits(99.8515644762, 25.1015644762)  # 74.75 and the simulator's usage
SIM_KEY_DATA = {
    **KEY_DATA,
    "label": "sk-or-v1-inf...m47",
    "usage_weekly": 25.5,
    "usage_monthly": 25.5,
}
UNAUTHORIZED = error(401, "No auth credentials found")
RATE_LIMITED = error(429, "Rate limit exceeded")
RETRY_DATE = "Fri, 13 Feb 2026 16:27:10 GMT"  # the simulator's wall clock and 30 seconds

SIM_ANSWERS = [
    # --- credits ---
    SimAnswer(
        "credits-healthy",
        APIS["credits"].sim_account,
        200,
        CREDITS_OK,
        headers={"Content-Type": JSON_TYPE},
        served=True,
    ),
    SimAnswer(
        "credits-wrong-key",
        APIS["credits"].sim_account,
        401,
        UNAUTHORIZED,
        request=(CREDITS_PATH, {"Authorization": "Bearer sk-or-v1-wrong"}),
    ),
    SimAnswer(
        "credits-without-bearer",
        APIS["credits"].sim_account,
        401,
        UNAUTHORIZED,
        request=(CREDITS_PATH, {"Authorization": SIM_KEY}),
    ),
    SimAnswer(
        "credits-no-authorization",
        APIS["credits"].sim_account,
        401,
        UNAUTHORIZED,
        request=(CREDITS_PATH, {}),
    ),
    # A key of the key API is no key of this one.
    SimAnswer(
        "credits-not-on-the-key-path",
        APIS["credits"].sim_account,
        401,
        UNAUTHORIZED,
        request=(KEY_PATH, {"Authorization": f"Bearer {SIM_KEY}"}),
    ),
    SimAnswer(
        "credits-inference-key",
        sim_credits(state="inference-key"),
        403,
        error(403, MANAGEMENT_ONLY),
    ),
    # Account-wide: whether a key has a cap changes nothing here.
    SimAnswer("credits-no-limit", sim_credits(state="no-limit"), 200, CREDITS_OK, served=True),
    SimAnswer(
        "credits-negative",
        sim_credits(balance=Decimal("-12.5")),
        200,
        credits(12.6015644762, 25.1015644762),
        served=True,
    ),
    SimAnswer("credits-401", sim_credits(fault="401"), 401, UNAUTHORIZED),
    SimAnswer("credits-403", sim_credits(fault="403"), 403, error(403, MANAGEMENT_ONLY)),
    SimAnswer(
        "credits-500",
        sim_credits(fault="500"),
        500,
        error(500, "Internal Server Error"),
        absent=("Retry-After",),
    ),
    SimAnswer(
        "credits-503-retry-after",
        sim_credits(fault="503-retry-after"),
        503,
        error(503, "Service Unavailable"),
        headers={"Retry-After": "30"},
    ),
    SimAnswer(
        "credits-429-seconds",
        sim_credits(fault="429-seconds"),
        429,
        RATE_LIMITED,
        headers={"Retry-After": "30"},
    ),
    SimAnswer(
        "credits-429-date",
        sim_credits(fault="429-date"),
        429,
        RATE_LIMITED,
        headers={"Retry-After": RETRY_DATE},
    ),
    SimAnswer(
        "credits-429-bare",
        sim_credits(fault="429-bare"),
        429,
        RATE_LIMITED,
        absent=("Retry-After",),
    ),
    *(
        SimAnswer(f"credits-{fault}", sim_credits(fault=fault), 200, credits(value, 25.75))
        for fault, value in [("nan", "NaN"), ("infinity", "Infinity"), ("thousands", "1,000.00")]
    ),
    # --- key ---
    SimAnswer(
        "key-healthy",
        APIS["key"].sim_account,
        200,
        {"data": SIM_KEY_DATA},
        headers={"Content-Type": JSON_TYPE},
        served=True,
    ),
    SimAnswer(
        "key-older-alias",
        APIS["key"].sim_account,
        200,
        {"data": SIM_KEY_DATA},
        request=("/api/v1/auth/key", {"Authorization": f"Bearer {SIM_INFERENCE_KEY}"}),
        served=True,
    ),
    SimAnswer(
        "key-no-limit",
        sim_key(state="no-limit"),
        200,
        {"data": {**SIM_KEY_DATA, "limit": None, "limit_remaining": None, "limit_reset": None}},
    ),
    # Any key reads /key.
    SimAnswer(
        "key-inference-key",
        sim_key(state="inference-key"),
        200,
        {"data": SIM_KEY_DATA},
        served=True,
    ),
    SimAnswer(
        "key-cap-used-up",
        sim_key(balance=Decimal("0")),
        200,
        {"data": {**SIM_KEY_DATA, "limit": 25.5, "limit_remaining": 0}},
        served=True,
    ),
    SimAnswer(
        "key-wrong-key",
        APIS["key"].sim_account,
        401,
        UNAUTHORIZED,
        request=(KEY_PATH, {"Authorization": "Bearer sk-or-v1-wrong"}),
    ),
    SimAnswer("key-401", sim_key(fault="401"), 401, UNAUTHORIZED),
    SimAnswer("key-403", sim_key(fault="403"), 403, error(403, "Forbidden")),
    SimAnswer(
        "key-429-seconds",
        sim_key(fault="429-seconds", retry_after="37"),
        429,
        RATE_LIMITED,
        headers={"Retry-After": "37"},
    ),
    SimAnswer("key-500", sim_key(fault="500"), 500, error(500, "Internal Server Error")),
    *(
        SimAnswer(
            f"key-{fault}",
            sim_key(fault=fault),
            200,
            {"data": {"limit": 100, "limit_remaining": value, "usage": 25.5}},
        )
        for fault, value in [("nan", "NaN"), ("infinity", "Infinity"), ("thousands", "1,000.00")]
    ),
]


test_answer, test_simulator_answer = table_tests(PROVIDER, APIS, ANSWERS, SIM_ANSWERS)


# --- what does not fit a row ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "more"),
    [("credits", {}), ("credits", {"api": "credits"}), ("key", {})],
    ids=["credits-by-default", "credits-chosen", "key"],
)
async def test_request_is_exactly_the_documented_one(
    variant: str, more: dict[str, str], http: Any, session: aiohttp.ClientSession
) -> None:
    api = replace(APIS[variant], config={**APIS[variant].config, **more})
    mock_answer(http, api.url, api.success("1"))
    await read(provider_for(PROVIDER, api), session)
    assert only_request(http) == (api.url, {"User-Agent": USER_AGENT, **api.headers})
