"""ElevenLabs' case table: its API for the registry-wide suites, its answers, its simulator."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from provider_kit import (
    API_KEY,
    NO_WAIT,
    Answer,
    Api,
    Failure,
    SimAnswer,
    table_tests,
)

from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import Reason
from balance_exporter.simulator import SimAccount
from balance_exporter.simulator.providers.elevenlabs import RESET, ElevenLabsAccount

PROVIDER = "elevenlabs"
SIM_KEY = "elevenlabs-canary-Qm47"
PATH = "/v1/user/subscription"
DOCS_RESET = 1738356858  # the docs' example

APIS = {
    "": Api(
        config={"api_key": API_KEY},
        url=f"https://api.elevenlabs.io{PATH}",
        headers={"xi-api-key": API_KEY, "Accept": "application/json"},
        success=lambda value: {
            "tier": "creator",
            "character_count": 0,
            "character_limit": value,
            "next_character_count_reset_unix": DOCS_RESET,
            "status": "active",
        },
        # detail as a plain string: no code of ElevenLabs' that would decide.
        error=lambda text: {"detail": text},
        sim_account=ElevenLabsAccount(
            PROVIDER, SIM_KEY, balance=Decimal("88000"), currency="credits"
        ),
        sim_request=(PATH, {"xi-api-key": SIM_KEY}),
    )
}


def subscription(
    count: Any, limit: Any, reset: Any = DOCS_RESET, status: Any = "active", **more: Any
) -> dict[str, Any]:
    return {
        "tier": "creator",
        "character_count": count,
        "character_limit": limit,
        "next_character_count_reset_unix": reset,
        "status": status,
        "max_credit_limit_extension": 0,
        "can_extend_character_limit": True,
        **more,
    }


def detail(status: str, message: str, **more: str) -> dict[str, Any]:
    return {"detail": {"status": status, "message": message, **more}}


def credits(balance: str, reset: float | None = float(DOCS_RESET), **more: Any) -> Reading:
    return Reading(currency="credits", balance=Decimal(balance), quota_reset=reset, **more)


def failed(status: int, code: str, text: str, reason: Reason) -> Failure:
    return Failure(
        reason, f"HTTP {status}, elevenlabs code {code}: {text}", code=code, status=status
    )


INVALID_KEY = detail("invalid_api_key", "Invalid API key")
MISSING_PERMISSION = (
    "The API key you used is missing the permission user_read to execute this operation."
)
PERMISSION_HINT = " (the key is valid but lacks the user_read permission)"
QUOTA = (
    "This request exceeds your quota of 10000. You have 0 credits remaining,"
    " while 91 credits are required for this request."
)
QUOTA_HINT = " (the period's credits are used up; the key itself was accepted)"
UNSETTLED_NOTE = "subscription status is {}: ElevenLabs may refuse requests"

ANSWERS = [
    # The docs' example: 100,000 - 12,000 credits, and when the period resets.
    Answer(
        "success",
        subscription(12000, 100000),
        reading=credits("88000"),
    ),
    # The real object has many more fields; its ``currency`` is the billing currency, not
    # the unit the counts are in.
    Answer(
        "billing-currency-is-not-the-unit",
        subscription(
            12000,
            100000,
            currency="usd",
            voice_limit=30,
            professional_voice_limit=1,
            can_use_instant_voice_cloning=True,
            billing_period="monthly_period",
            character_refresh_period="monthly_period",
        ),
        reading=credits("88000"),
    ),
    Answer("reset-null", subscription(12000, 100000, reset=None), reading=credits("88000", None)),
    Answer(
        "reset-missing",
        {"character_count": 12000, "character_limit": 100000},
        reading=credits("88000", None),
    ),
    # Usage-based billing lets the count pass the limit: the balance goes below zero.
    Answer(
        "usage-billing-below-zero",
        subscription(112000, 100000, max_credit_limit_extension="unlimited"),
        reading=credits("-12000"),
    ),
    Answer("all-used", subscription(100000, 100000), reading=credits("0")),
    # A character may cost half a credit: a fraction stays exact.
    Answer("half-credits", subscription(12000.5, 100000), reading=credits("87999.5")),
    Answer(
        "large-counts-are-exact",
        '{"character_count": 1, "character_limit": 123456789012345, "status": "active"}',
        reading=credits("123456789012344", None),
    ),
    # The docs' suggestion of a blocked account: said in the log, not a figure.
    *(
        Answer(
            f"status-{status}",
            subscription(12000, 100000, status=status),
            reading=credits("88000", note=UNSETTLED_NOTE.format(status)),
        )
        for status in ("past_due", "incomplete", "free_disabled")
    ),
    *(
        Answer(
            f"status-{status}-is-no-note",
            subscription(9000, 10000, status=status),
            reading=credits("1000"),
        )
        for status in ("trialing", "free", None, 7)
    ),
    # Broken answers.
    Answer(
        "no-limit",
        {"character_count": 12000, "status": "active"},
        failure=Failure(Reason.INVALID_RESPONSE, "response has no character_limit"),
    ),
    Answer(
        "null-count",
        subscription(None, 100000),
        failure=Failure(Reason.INVALID_RESPONSE, "response has no character_count"),
    ),
    Answer(
        "count-with-thousands",
        subscription("12,000", 100000),
        failure=Failure(Reason.INVALID_RESPONSE, "character_count is not a plain number: '12,000'"),
    ),
    Answer(
        "limit-is-an-object",
        subscription(12000, {"credits": 100000}),
        failure=Failure(Reason.INVALID_RESPONSE, "character_limit is an object, not an amount"),
    ),
    *(
        Answer(
            f"reset-{name}",
            subscription(12000, 100000, reset=value),
            failure=Failure(Reason.INVALID_RESPONSE, message),
        )
        for name, value, message in (
            (
                "as-a-string",
                "1738356858",
                "next_character_count_reset_unix is a string, expected whole seconds",
            ),
            (
                "with-a-fraction",
                1738356858.5,
                "next_character_count_reset_unix is a decimal number, expected whole seconds",
            ),
            (
                "boolean",
                True,
                "next_character_count_reset_unix is a boolean, expected whole seconds",
            ),
            ("negative", -1, "next_character_count_reset_unix is before 1970"),
        )
    ),
    # Errors, classified on detail.status first and the HTTP status second.
    Answer(
        "401-invalid-api-key",
        INVALID_KEY,
        status=401,
        failure=failed(401, "invalid_api_key", "Invalid API key", Reason.AUTH),
    ),
    Answer(
        "401-newer-body-with-type-and-code",
        detail(
            "invalid_api_key",
            "Invalid API key",
            type="authentication_error",
            code="invalid_api_key",
        ),
        status=401,
        failure=failed(401, "invalid_api_key", "Invalid API key", Reason.AUTH),
    ),
    # A valid key without user_read: still auth, and the failure says which permission.
    Answer(
        "401-missing-permissions",
        detail("missing_permissions", MISSING_PERMISSION),
        status=401,
        failure=failed(
            401, "missing_permissions", MISSING_PERMISSION + PERMISSION_HINT, Reason.AUTH
        ),
    ),
    # The credits are spent: a 401 that is no authentication failure.
    Answer(
        "401-quota-exceeded",
        detail("quota_exceeded", QUOTA),
        status=401,
        failure=failed(401, "quota_exceeded", QUOTA + QUOTA_HINT, Reason.CLIENT_ERROR),
    ),
    Answer(
        "400-quota-exceeded",
        detail("quota_exceeded", QUOTA),
        status=400,
        failure=failed(400, "quota_exceeded", QUOTA + QUOTA_HINT, Reason.CLIENT_ERROR),
    ),
    # A newer body may name the error in ``code`` alone.
    Answer(
        "401-quota-exceeded-in-code",
        {"detail": {"type": "quota_error", "code": "quota_exceeded", "message": QUOTA}},
        status=401,
        failure=failed(401, "quota_exceeded", QUOTA + QUOTA_HINT, Reason.CLIENT_ERROR),
    ),
    Answer(
        "401-detail-as-a-string",
        {"detail": "Invalid API key"},
        status=401,
        failure=Failure(Reason.AUTH, "HTTP 401: Invalid API key", status=401),
    ),
    Answer(
        "422-validation-error",
        {"detail": [{"loc": ["header", "xi-api-key"], "msg": "field required", "type": "missing"}]},
        status=422,
        failure=Failure(Reason.CLIENT_ERROR, "HTTP 422: field required", status=422),
    ),
    Answer(
        "429-too-many-concurrent-requests",
        detail("too_many_concurrent_requests", "Too many concurrent requests."),
        status=429,
        headers={"Retry-After": "5"},
        failure=Failure(
            Reason.RATE_LIMITED,
            "HTTP 429, elevenlabs code too_many_concurrent_requests: Too many concurrent requests.",
            retry_after=5.0,
        ),
    ),
    # No rate-limit header is documented: without one, no wait is asked for.
    Answer(
        "429-system-busy",
        detail("system_busy", "The system is experiencing heavy traffic."),
        status=429,
        failure=Failure(
            Reason.RATE_LIMITED,
            "HTTP 429, elevenlabs code system_busy: The system is experiencing heavy traffic.",
            retry_after=NO_WAIT,
        ),
    ),
    Answer(
        "500-plain-text",
        "Internal Server Error",
        status=500,
        content_type="text/plain",
        failure=Failure(Reason.SERVER_ERROR, "HTTP 500", status=500),
    ),
    Answer(
        "503-detail",
        detail("service_unavailable", "Service temporarily unavailable"),
        status=503,
        failure=failed(
            503, "service_unavailable", "Service temporarily unavailable", Reason.SERVER_ERROR
        ),
    ),
    # A code of its own that decides nothing: the HTTP status does.
    Answer(
        "404-unknown-code",
        detail("not_found", "Not found"),
        status=404,
        failure=failed(404, "not_found", "Not found", Reason.CLIENT_ERROR),
    ),
    *(
        Answer(
            f"error-body-without-a-detail-{index}",
            body,
            status=401,
            failure=Failure(Reason.AUTH, "HTTP 401", status=401),
        )
        for index, body in enumerate(
            [{}, {"detail": None}, {"detail": 5}, {"detail": []}, {"detail": [1]}, {"error": "x"}]
        )
    ),
    # A key echoed where a figure, a text or a code belongs never shows in the failure.
    Answer(
        "key-echoed-as-the-count",
        subscription(API_KEY, 100000),
        failure=Failure(Reason.INVALID_RESPONSE, contains=("character_count",)),
    ),
    Answer(
        "key-echoed-in-the-message",
        detail("invalid_api_key", f"Invalid API key: {API_KEY}"),
        status=401,
        failure=Failure(Reason.AUTH, code="invalid_api_key"),
    ),
    Answer(
        "key-echoed-as-the-code",
        detail(API_KEY, "Invalid API key"),
        status=401,
        failure=Failure(Reason.AUTH, contains=("Invalid API key",)),
    ),
]


def sim_body(count: Any, limit: Any, reset: int | None = RESET, **more: Any) -> dict[str, Any]:
    return {
        "tier": "creator",
        "character_count": count,
        "character_limit": limit,
        "next_character_count_reset_unix": reset,
        "status": "active",
        "max_credit_limit_extension": 0,
        "can_extend_character_limit": True,
        **more,
    }


def sim_fault(fault: str, retry_after: str = "30") -> SimAccount:
    return replace(APIS[""].sim_account, fault=fault, retry_after=retry_after)


SIM_401 = detail("invalid_api_key", "Invalid API key")
SIM_PERMISSION = detail("missing_permissions", MISSING_PERMISSION)
SIM_429 = detail(
    "too_many_concurrent_requests", "Too many concurrent requests for your subscription."
)

SIM_ANSWERS = [
    SimAnswer("healthy", APIS[""].sim_account, 200, sim_body(12000, 100000), served=True),
    # A plain simulated account is on the default plan.
    SimAnswer(
        "default-plan",
        SimAccount(PROVIDER, SIM_KEY, balance=Decimal("100")),
        200,
        sim_body(99900, 100000),
        served=True,
    ),
    SimAnswer(
        "usage-billing-below-zero-without-reset",
        ElevenLabsAccount(
            PROVIDER,
            SIM_KEY,
            balance=Decimal("-12500"),
            tier="pro",
            character_limit=500_000,
            reset=None,
        ),
        200,
        sim_body(512500, 500000, None, tier="pro", max_credit_limit_extension="unlimited"),
        served=True,
    ),
    # The shared suites' balances with a fraction: exact, the fraction in the count.
    SimAnswer(
        "fraction-in-the-count",
        replace(APIS[""].sim_account, balance=Decimal("100.25")),
        200,
        sim_body(99899.75, 100000),
        served=True,
    ),
    # More than the plan holds (a test's balance): a plan that large, nothing used.
    SimAnswer(
        "balance-beyond-the-plan",
        replace(APIS[""].sim_account, balance=Decimal("250000.00")),
        200,
        sim_body(0, 250000),
        served=True,
    ),
    SimAnswer(
        "missing-permissions",
        replace(APIS[""].sim_account, state="missing-permissions"),
        401,
        SIM_PERMISSION,
    ),
    SimAnswer(
        "quota-exceeded",
        replace(APIS[""].sim_account, state="quota-exceeded"),
        401,
        detail(
            "quota_exceeded",
            "This request exceeds your quota of 100000. You have 0 credits remaining,"
            " while 1 credits are required for this request.",
        ),
    ),
    SimAnswer(
        "wrong-key", APIS[""].sim_account, 401, SIM_401, request=(PATH, {"xi-api-key": "wrong"})
    ),
    # The key presented otherwise than in xi-api-key is no key.
    SimAnswer(
        "bearer-instead-of-xi-api-key",
        APIS[""].sim_account,
        401,
        SIM_401,
        request=(PATH, {"Authorization": f"Bearer {SIM_KEY}"}),
    ),
    SimAnswer("no-key", APIS[""].sim_account, 401, SIM_401, request=(PATH, {})),
    SimAnswer("401", sim_fault("401"), 401, SIM_401),
    SimAnswer("403", sim_fault("403"), 403, SIM_PERMISSION),
    SimAnswer(
        "429-seconds",
        sim_fault("429-seconds", retry_after="37"),
        429,
        SIM_429,
        headers={"Retry-After": "37"},
    ),
    SimAnswer("429-bare", sim_fault("429-bare"), 429, SIM_429, absent=("Retry-After",)),
    SimAnswer(
        "500",
        sim_fault("500"),
        500,
        "Internal Server Error",
        headers={"Content-Type": "text/plain; charset=utf-8"},
    ),
    SimAnswer(
        "503-retry-after",
        sim_fault("503-retry-after", retry_after="120"),
        503,
        "Service Unavailable",
        headers={"Retry-After": "120"},
    ),
    *(
        SimAnswer(
            fault,
            sim_fault(fault),
            200,
            sim_body(0, value),
        )
        for fault, value in (("nan", "NaN"), ("infinity", "Infinity"), ("thousands", "1,000.00"))
    ),
]


test_answer, test_simulator_answer = table_tests(PROVIDER, APIS, ANSWERS, SIM_ANSWERS)
