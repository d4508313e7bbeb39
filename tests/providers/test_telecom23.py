"""23 Telecom's case table: its API for the registry-wide suites, its answers, its simulator."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from provider_kit import (
    API_KEY,
    Answer,
    Api,
    Failure,
    SimAnswer,
    table_tests,
)

from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import Reason
from balance_exporter.simulator import SimAccount
from balance_exporter.simulator.providers.telecom23 import HTML_429

PROVIDER = "23telecom"
SIM_KEY = "t23-canary-Qm47"
PATH = "/api/v1/user/balance"
UPDATED_TEXT = "2026.02.13 10:15:00"  # UTC, though it names no zone
UPDATED = 1_770_977_700.0  # 2026-02-13 10:15:00 UTC
JSON = "application/json; charset=utf-8"
GATEWAY_HEADERS = ("X-Sms-Gateway-Status", "X-Sms-Gateway-Reason")

APIS = {
    "": Api(
        config={"api_key": API_KEY},
        url=f"https://restlink23telecom.com{PATH}",
        headers={"X-API-Key": API_KEY},
        success=lambda value: {"balance": value, "currency": "EUR", "updated": UPDATED_TEXT},
        error=lambda text: {"status": False, "error_code": "SOMETHING", "description": text},
        sim_account=SimAccount(PROVIDER, SIM_KEY, balance=Decimal("1250.50"), currency="EUR"),
        sim_request=(PATH, {"X-API-Key": SIM_KEY}),
    )
}


def error(code: str, description: str) -> dict[str, Any]:
    return {"status": False, "error_code": code, "description": description}


def failed(status: int, code: str, description: str, reason: Reason) -> Failure:
    return Failure(reason, f"HTTP {status}, 23telecom code {code}: {description}", code=code)


def degraded(reason: str) -> Reading:
    return Reading(degraded=True, degraded_reason=reason)


def invalid(message: str) -> Failure:
    return Failure(Reason.INVALID_RESPONSE, message)


SETUP = {"status": False, "error": "Account is in setup process"}
# What a degraded cache answers when only the headers tell: a zero that looks like any other.
ZERO = {"balance": 0, "currency": "EUR", "updated": UPDATED_TEXT}

# Classified on error_code, never on the description: (status, code, description, reason).
ERRORS = [
    (402, "INSUFFICIENT_BALANCE", "Insufficient balance", Reason.CLIENT_ERROR),
    (401, "INVALID_API_KEY", "Invalid API key", Reason.AUTH),
    (403, "PERMISSION_DENIED", "Missing permission balance.read", Reason.AUTH),
    (500, "INTERNAL_ERROR", "Internal error", Reason.SERVER_ERROR),
    (429, "RATE_LIMITED", "Too many requests", Reason.RATE_LIMITED),
    # Descriptions that say something else than their code:
    (400, "RATE_LIMIT_EXCEEDED", "Invalid API key", Reason.RATE_LIMITED),
    (400, "INVALID_API_KEY", "Too many requests, slow down", Reason.AUTH),
    (400, "VALIDATION_FAILED", "Invalid API key; rate limit exceeded", Reason.CLIENT_ERROR),
    (503, "SERVICE_UNAVAILABLE", "Unauthorized", Reason.SERVER_ERROR),
    # A 200 that says status false with an error_code is a failure, not the setup answer.
    (200, "INVALID_API_KEY", "Account is in setup process", Reason.AUTH),
]

ANSWERS = [
    # The documented example, its number as written (1250.50, not 1250.5).
    Answer(
        "documented-example",
        '{"balance": 1250.50, "currency": "EUR", "updated": "2026.02.13 10:15:00"}',
        reading=Reading(
            currency="EUR",
            balance=Decimal("1250.50"),
            credit_blocked=False,
            provider_updated=UPDATED,
        ),
    ),
    Answer(
        "credit-blocked-below-zero",
        '{"balance": -0.42, "currency": "EUR", "updated": "2026.02.13 10:15:00",'
        ' "credit_blocked": true}',
        reading=Reading(
            currency="EUR",
            balance=Decimal("-0.42"),
            credit_blocked=True,
            provider_updated=UPDATED,
        ),
    ),
    Answer(
        "without-updated",
        {"balance": "0", "currency": "GBP", "credit_blocked": True},
        reading=Reading(currency="GBP", balance=Decimal("0"), credit_blocked=True),
    ),
    # Onboarding: not ready yet, and no failure.
    Answer("setup-is-not-ready", SETUP, reading=Reading(ready=False)),
    Answer("setup-with-more-keys", {**SETUP, "step": "kyc"}, reading=Reading(ready=False)),
    # Degraded by the headers alone: the zero below them is never given.
    Answer(
        "degraded-partial-by-header",
        ZERO,
        headers={"X-Sms-Gateway-Status": "partial", "X-Sms-Gateway-Reason": "cache_disabled"},
        reading=degraded("cache_disabled"),
    ),
    Answer(
        "degraded-unavailable-by-header",
        ZERO,
        headers={
            "X-Sms-Gateway-Status": "unavailable",
            "X-Sms-Gateway-Reason": "cache_miss_refresh_failed",
        },
        reading=degraded("cache_miss_refresh_failed"),
    ),
    Answer(
        "degraded-header-in-any-case",
        ZERO,
        headers={"X-Sms-Gateway-Status": "Partial"},
        reading=degraded("partial"),
    ),
    Answer(
        "degraded-header-name-in-any-case",
        ZERO,
        headers={"x-sms-gateway-status": "unavailable"},
        reading=degraded("unavailable"),
    ),
    # Degraded by the body: its zero is never given either.
    Answer(
        "degraded-by-body-with-reason",
        {
            "balance": 0,
            "currency": "EUR",
            "unavailable": True,
            "reason": "cache_miss_refresh_failed",
        },
        reading=degraded("cache_miss_refresh_failed"),
    ),
    Answer(
        "degraded-by-body-without-reason",
        {"balance": 0, "currency": "EUR", "unavailable": True},
        reading=degraded("unavailable"),
    ),
    # Both, as the simulator's degraded state answers: the machine-readable header decides.
    Answer(
        "degraded-by-body-and-header",
        {"balance": 0, "currency": "EUR", "unavailable": True, "reason": "cache_disabled"},
        headers={"X-Sms-Gateway-Status": "unavailable", "X-Sms-Gateway-Reason": "cache_disabled"},
        reading=degraded("cache_disabled"),
    ),
    # Only partial and unavailable degrade; unavailable false is not the flag.
    Answer(
        "healthy-status-header-is-not-degraded",
        {"balance": 3, "currency": "EUR", "unavailable": False},
        headers={"X-Sms-Gateway-Status": "ok"},
        reading=Reading(currency="EUR", balance=Decimal("3"), credit_blocked=False),
    ),
    *(
        Answer(
            f"{status}-{code.lower()}",
            error(code, description),
            status=status,
            failure=failed(status, code, description, reason),
        )
        for status, code, description, reason in ERRORS
    ),
    # The documented 402 of a send, whole: its balance figures are no reading.
    Answer(
        "402-with-cost-breakdown",
        {
            "status": False,
            "error_code": "INSUFFICIENT_BALANCE",
            "description": "Insufficient balance",
            "balance": 0.42,
            "estimated_cost": 1.07,
            "currency": "EUR",
            "total_recipients": 100,
            "billable_recipients": 98,
            "segments": 2,
        },
        status=402,
        failure=failed(402, "INSUFFICIENT_BALANCE", "Insufficient balance", Reason.CLIENT_ERROR),
    ),
    # Its 429 comes from an edge: no body or an HTML one, the wait in Retry-After.
    Answer(
        "429-without-a-body",
        "",
        status=429,
        headers={"Retry-After": "90"},
        content_type="text/plain",
        failure=Failure(Reason.RATE_LIMITED, "HTTP 429", retry_after=90.0),
    ),
    Answer(
        "429-in-html",
        "<html><head><title>429 Too Many Requests</title></head></html>",
        status=429,
        headers={"Retry-After": "90"},
        content_type="text/html",
        failure=Failure(Reason.RATE_LIMITED, "HTTP 429", retry_after=90.0),
    ),
    # Wrong shapes: updated only as documented, credit_blocked only a boolean, a balance.
    Answer(
        "updated-in-iso-format",
        {"balance": 1, "currency": "EUR", "updated": "2026-02-13T10:15:00Z"},
        failure=invalid("updated is not a time like %Y.%m.%d %H:%M:%S: '2026-02-13T10:15:00Z'"),
    ),
    Answer(
        "updated-not-a-date",
        {"balance": 1, "currency": "EUR", "updated": "2026.02.30 10:15:00"},
        failure=invalid("updated is not a time like %Y.%m.%d %H:%M:%S: '2026.02.30 10:15:00'"),
    ),
    Answer(
        "updated-as-a-number",
        {"balance": 1, "currency": "EUR", "updated": 1770977700},
        failure=invalid("updated is a number, expected a time"),
    ),
    Answer(
        "credit-blocked-as-text",
        {"balance": 1, "currency": "EUR", "credit_blocked": "yes"},
        failure=invalid("credit_blocked is a string, expected a boolean"),
    ),
    Answer(
        "credit-blocked-as-a-number",
        {"balance": 1, "currency": "EUR", "credit_blocked": 1},
        failure=invalid("credit_blocked is a number, expected a boolean"),
    ),
    Answer(
        "without-a-balance",
        {"currency": "EUR"},
        failure=invalid("balance is null, not an amount"),
    ),
    # A key echoed back where a time or a code goes never shows in the failure.
    Answer(
        "key-echoed-as-updated",
        {"balance": 1, "currency": "EUR", "updated": API_KEY},
        failure=Failure(Reason.INVALID_RESPONSE),
    ),
    Answer(
        "key-echoed-as-error-code",
        error(API_KEY, "Error"),
        status=401,
        failure=Failure(Reason.AUTH),
    ),
]

SIM_ANSWERS = [
    SimAnswer(
        "healthy",
        APIS[""].sim_account,
        200,
        {"balance": 1250.5, "currency": "EUR", "updated": UPDATED_TEXT},
        headers={"Content-Type": JSON},
        absent=GATEWAY_HEADERS,
        served=True,
    ),
    # credit_blocked is there at zero or below, and only then.
    *(
        SimAnswer(
            f"{'credit-blocked' if blocked else 'not-blocked'}-at-{balance}",
            SimAccount(PROVIDER, SIM_KEY, balance=Decimal(balance), currency="EUR"),
            200,
            {"balance": float(balance), "currency": "EUR", "updated": UPDATED_TEXT}
            | ({"credit_blocked": True} if blocked else {}),
            absent=GATEWAY_HEADERS,
            served=True,
        )
        for balance, blocked in [("0", True), ("-3.5", True), ("0.01", False)]
    ),
    SimAnswer(
        "setup",
        SimAccount(PROVIDER, SIM_KEY, state="setup"),
        200,
        SETUP,
        absent=GATEWAY_HEADERS,
    ),
    # A degraded zero is no trustworthy answer.
    SimAnswer(
        "degraded",
        SimAccount(PROVIDER, SIM_KEY, currency="EUR", state="degraded"),
        200,
        {"balance": 0, "currency": "EUR", "unavailable": True, "reason": "cache_disabled"},
        headers={"X-Sms-Gateway-Status": "unavailable", "X-Sms-Gateway-Reason": "cache_disabled"},
    ),
    SimAnswer(
        "degraded-header-only",
        SimAccount(PROVIDER, SIM_KEY, currency="EUR", state="degraded-header"),
        200,
        {"balance": 0, "currency": "EUR", "updated": UPDATED_TEXT, "credit_blocked": True},
        headers={
            "X-Sms-Gateway-Status": "partial",
            "X-Sms-Gateway-Reason": "cache_miss_refresh_failed",
        },
    ),
    SimAnswer(
        "wrong-key",
        APIS[""].sim_account,
        401,
        error("INVALID_API_KEY", "Invalid API key"),
        request=(PATH, {"X-API-Key": "wrong"}),
    ),
    SimAnswer(
        "right-key-as-bearer",
        APIS[""].sim_account,
        401,
        error("INVALID_API_KEY", "Invalid API key"),
        request=(PATH, {"Authorization": f"Bearer {SIM_KEY}"}),
    ),
    SimAnswer(
        "401",
        SimAccount(PROVIDER, SIM_KEY, fault="401"),
        401,
        error("INVALID_API_KEY", "Invalid API key"),
    ),
    SimAnswer(
        "403",
        SimAccount(PROVIDER, SIM_KEY, fault="403"),
        403,
        error("PERMISSION_DENIED", "The key lacks the balance.read permission"),
    ),
    SimAnswer(
        "500",
        SimAccount(PROVIDER, SIM_KEY, fault="500"),
        500,
        error("INTERNAL_ERROR", "Internal error"),
        absent=("Retry-After",),
    ),
    SimAnswer(
        "503-retry-after",
        SimAccount(PROVIDER, SIM_KEY, fault="503-retry-after"),
        503,
        error("INTERNAL_ERROR", "Internal error"),
        headers={"Retry-After": "30"},
    ),
    # Its 429 is the edge's: HTML with the wait, or nothing at all.
    SimAnswer(
        "429-seconds",
        SimAccount(PROVIDER, SIM_KEY, fault="429-seconds", retry_after="37"),
        429,
        HTML_429,
        headers={"Content-Type": "text/html; charset=utf-8", "Retry-After": "37"},
    ),
    SimAnswer(
        "429-date",
        SimAccount(PROVIDER, SIM_KEY, fault="429-date"),
        429,
        HTML_429,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Retry-After": "Fri, 13 Feb 2026 16:27:10 GMT",
        },
    ),
    SimAnswer(
        "429-bare",
        SimAccount(PROVIDER, SIM_KEY, fault="429-bare"),
        429,
        "",
        absent=("Retry-After", "Content-Type"),
    ),
    *(
        SimAnswer(
            fault,
            SimAccount(PROVIDER, SIM_KEY, fault=fault),
            200,
            {"balance": value, "currency": "EUR"},
        )
        for fault, value in [("nan", "NaN"), ("infinity", "Infinity"), ("thousands", "1,000.00")]
    ),
]


test_answer, test_simulator_answer = table_tests(PROVIDER, APIS, ANSWERS, SIM_ANSWERS)
