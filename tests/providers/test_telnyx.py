"""Telnyx's case table: its API for the registry-wide suites, its answers, its simulator."""

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
from balance_exporter.simulator.providers.telnyx import credit_account

PROVIDER = "telnyx"
SIM_KEY = "telnyx-canary-Qm47"

APIS = {
    "": Api(
        config={"api_key": API_KEY},
        url="https://api.telnyx.com/v2/balance",
        headers={"Authorization": f"Bearer {API_KEY}"},
        success=lambda value: {"data": {"record_type": "balance", "balance": value}},
        error=lambda text: {"errors": [{"code": "90001", "title": "Error", "detail": text}]},
        sim_account=SimAccount(
            PROVIDER,
            SIM_KEY,
            balance=Decimal("300.00"),
            credit_limit=Decimal("100.00"),
            pending=Decimal("10.00"),
        ),
        sim_request=("/v2/balance", {"Authorization": f"Bearer {SIM_KEY}"}),
    )
}


def errors(code: str, title: str, detail: str | None = None) -> dict[str, Any]:
    error = {"code": code, "title": title}
    if detail is not None:
        error["detail"] = detail
    return {"errors": [error]}


def failed(status: int, code: str, detail: str, reason: Reason) -> Failure:
    return Failure(reason, f"HTTP {status}, telnyx code {code}: {detail}", code=code)


ANSWERS = [
    Answer(
        "every-figure",
        {
            "data": {
                "record_type": "balance",
                "pending": "10.00",
                "balance": "300.00",
                "credit_limit": "100.00",
                "available_credit": "400.00",
                "currency": "USD",
            }
        },
        reading=Reading(
            currency="USD",
            balance=Decimal("300.00"),
            credit_limit=Decimal("100.00"),
            pending=Decimal("10.00"),
            available_credit=Decimal("400.00"),
        ),
    ),
    # A credit account: below zero, within its limit, and no pending at all.
    Answer(
        "credit-account",
        {
            "data": {
                "available_credit": "345.71",
                "balance": "-154.29",
                "credit_limit": "500.00",
                "currency": "USD",
                "record_type": "balance",
            }
        },
        reading=Reading(
            currency="USD",
            balance=Decimal("-154.29"),
            credit_limit=Decimal("500.00"),
            available_credit=Decimal("345.71"),
        ),
    ),
    Answer(
        "negative-and-missing-figures",
        {"data": {"balance": "-12.34", "currency": "EUR"}},
        reading=Reading(currency="EUR", balance=Decimal("-12.34")),
    ),
    Answer(
        "json-numbers-are-exact",
        '{"data": {"balance": 0.1, "available_credit": 100000000000000.01}}',
        reading=Reading(balance=Decimal("0.1"), available_credit=Decimal("100000000000000.01")),
    ),
    Answer(
        "available-credit-alone",
        {"data": {"available_credit": "5.5", "currency": "usd"}},
        reading=Reading(currency="USD", available_credit=Decimal("5.5")),
    ),
    Answer(
        "no-figure-at-all",
        {"data": {"record_type": "balance", "currency": "USD"}},
        failure=Failure(
            Reason.INVALID_RESPONSE,
            "data holds none of balance, credit_limit, pending, available_credit",
        ),
    ),
    Answer(
        "401",
        errors("10009", "Authentication failed", "The API key is invalid."),
        status=401,
        failure=failed(401, "10009", "The API key is invalid.", Reason.AUTH),
    ),
    Answer(
        "403",
        errors("10010", "Authorization failed", "No permission for billing."),
        status=403,
        failure=failed(403, "10010", "No permission for billing.", Reason.AUTH),
    ),
    Answer(
        "422",
        errors("10015", "Invalid account", "Account information is missing."),
        status=422,
        failure=failed(422, "10015", "Account information is missing.", Reason.CLIENT_ERROR),
    ),
    Answer(
        "503",
        errors("10011", "Service unavailable", "Try again later."),
        status=503,
        failure=failed(503, "10011", "Try again later.", Reason.SERVER_ERROR),
    ),
    # The code decides over the status.
    Answer(
        "auth-code-on-400",
        errors("10009", "Authentication failed", "Bad key."),
        status=400,
        failure=failed(400, "10009", "Bad key.", Reason.AUTH),
    ),
    Answer(
        "title-without-detail",
        errors("10009", "Auth failed"),
        status=401,
        failure=Failure(Reason.AUTH, "HTTP 401, telnyx code 10009: Auth failed"),
    ),
    # Its 429: the x-ratelimit-* headers, no Retry-After; the reset is in seconds.
    Answer(
        "429-with-ratelimit-headers",
        errors(
            "10011",
            "Too many requests",
            "You have exceeded the maximum number of allowed requests.",
        ),
        status=429,
        headers={
            "x-ratelimit-limit": "20",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": "37",
        },
        failure=Failure(
            Reason.RATE_LIMITED,
            "HTTP 429, telnyx code 10011:"
            " You have exceeded the maximum number of allowed requests.",
            retry_after=37.0,
        ),
    ),
    *(
        Answer(f"wrong-shape-{index}", body, failure=Failure(Reason.INVALID_RESPONSE))
        for index, body in enumerate(
            [
                {"data": {"balance": None, "pending": None}},
                {"data": []},
                {"data": "300.00"},
                {"balance": "300.00"},
                {"data": {"balance": "1", "currency": 840}},
                {"data": {"balance": "1", "currency": "US$"}},
            ]
        )
    ),
    # A key echoed where a figure or a code belongs never shows in the failure.
    Answer(
        "key-echoed-as-currency",
        {"data": {"balance": "1", "currency": API_KEY}},
        failure=Failure(Reason.INVALID_RESPONSE),
    ),
    Answer(
        "key-echoed-as-error-code",
        {"errors": [{"code": API_KEY, "title": "Error"}]},
        status=401,
        failure=Failure(Reason.AUTH),
    ),
    *(
        Answer(
            f"error-body-without-an-error-{index}",
            body,
            status=403,
            failure=Failure(Reason.AUTH, "HTTP 403"),
        )
        for index, body in enumerate([{"errors": []}, {"errors": "bad"}, {"errors": [1]}, {}])
    ),
]

SIM_ANSWERS = [
    SimAnswer(
        "healthy",
        APIS[""].sim_account,
        200,
        {
            "data": {
                "record_type": "balance",
                "balance": "300.00",
                "credit_limit": "100.00",
                "available_credit": "400.00",
                "currency": "USD",
                "pending": "10.00",
            }
        },
        served=True,
    ),
    SimAnswer(
        "without-figures-it-was-not-given",
        SimAccount(PROVIDER, SIM_KEY, balance=Decimal("-12.5")),
        200,
        {
            "data": {
                "record_type": "balance",
                "balance": "-12.50",
                "credit_limit": "0.00",
                "available_credit": "-12.50",
                "currency": "USD",
            }
        },
        served=True,
    ),
    SimAnswer(
        "credit-account",
        credit_account(SIM_KEY),
        200,
        {
            "data": {
                "available_credit": "345.71",
                "balance": "-154.29",
                "credit_limit": "500.00",
                "currency": "USD",
                "record_type": "balance",
            }
        },
        served=True,
    ),
    SimAnswer(
        "429",
        SimAccount(PROVIDER, SIM_KEY, fault="429-seconds", retry_after="37"),
        429,
        {
            "errors": [
                {
                    "code": "10011",
                    "title": "Too many requests",
                    "detail": "You have exceeded the maximum number of allowed requests.",
                }
            ]
        },
        headers={
            "x-ratelimit-limit": "20",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": "37",
        },
        absent=("Retry-After",),
    ),
    SimAnswer(
        "wrong-key",
        APIS[""].sim_account,
        401,
        errors("10009", "Authentication failed", "Could not understand the provided credentials."),
        request=("/v2/balance", {"Authorization": "Bearer wrong-key"}),
    ),
    SimAnswer(
        "403",
        SimAccount(PROVIDER, SIM_KEY, fault="403"),
        403,
        errors(
            "10010",
            "Authorization failed",
            "Insufficient permissions to access balance information",
        ),
    ),
]


test_answer, test_simulator_answer = table_tests(PROVIDER, APIS, ANSWERS, SIM_ANSWERS)
