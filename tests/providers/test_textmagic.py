"""Textmagic's case table: its API for the registry-wide suites, its answers, its simulator."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from aiohttp import encode_basic_auth
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
from balance_exporter.simulator.providers.textmagic import user_id_for, username_for

PROVIDER = "textmagic"
USERNAME = "charles.conway"
SIM_KEY = "textmagic-canary-Qm47"
SIM_USER = username_for(SIM_KEY)
SIM_ID = user_id_for(SIM_KEY)
PATH = "/api/v2/user"
# Written out rather than imported, so that a changed hint fails here.
HINT = (
    "HTTP 401 (a wrong username or key, a v1 key, or a sub-account user without permission"
    " to read the account)"
)
NO_RIGHTS = "Current user has no rights to perform the specified action."
USD = {"id": "USD", "htmlSymbol": "$"}

APIS = {
    "": Api(
        config={"username": USERNAME, "api_key": API_KEY},
        url=f"https://rest.textmagic.com{PATH}",
        headers={"X-TM-Username": USERNAME, "X-TM-Key": API_KEY, "Accept": "application/json"},
        success=lambda value: {
            "id": 305,
            "username": USERNAME,
            "balance": value,
            "currency": USD,
            "subaccountType": "P",
        },
        error=lambda text: {"code": 400, "message": text, "errors": None},
        sim_account=SimAccount(PROVIDER, SIM_KEY, balance=Decimal("208.64")),
        sim_request=(PATH, {"X-TM-Username": SIM_USER, "X-TM-Key": SIM_KEY}),
    )
}


def user(balance: Any = 10.5, **fields: Any) -> dict[str, Any]:
    return {"id": 305, "username": USERNAME, "balance": balance, "currency": USD, **fields}


def problem(status: int, message: str, errors: Any = None) -> dict[str, Any]:
    return {"code": status, "message": message, "errors": errors}


def failed(status: int, message: str | None, reason: Reason) -> Failure:
    prefix = HINT if status == 401 else f"HTTP {status}"
    return Failure(reason, f"{prefix}: {message}" if message else prefix, status=status)


ANSWERS = [
    # The documentation's example, whole: the parent user's id names the account.
    Answer(
        "documented-user",
        '{"id": 305, "username": "charles.conway", "firstName": "Charles",'
        ' "lastName": "Conway", "email": "charles@example.com", "status": "A",'
        ' "balance": 208.64, "currency": {"id": "USD", "htmlSymbol": "$"},'
        ' "company": "Example Ltd.", "subaccountType": "P", "timezone": {"id": 185,'
        ' "area": "Europe", "dst": 1, "offset": 0, "timezone": "Europe/London"}}',
        reading=Reading(currency="USD", balance=Decimal("208.64"), provider_account_id="305"),
    ),
    # The short form: no subaccountType, so no account id.
    Answer(
        "issue-example",
        {"id": 1, "username": "…", "balance": 10.5, "currency": {"id": "USD", "htmlSymbol": "$"}},
        reading=Reading(currency="USD", balance=Decimal("10.5")),
    ),
    # A JSON float is read from its text, exactly.
    Answer(
        "float-is-exact",
        '{"id": 305, "balance": 0.1, "currency": {"id": "GBP"}, "subaccountType": "P"}',
        reading=Reading(currency="GBP", balance=Decimal("0.1"), provider_account_id="305"),
    ),
    Answer(
        "large-float-is-exact",
        '{"id": 7, "balance": 123456789012.37, "currency": {"id": "EUR"}}',
        reading=Reading(currency="EUR", balance=Decimal("123456789012.37")),
    ),
    Answer(
        "integer-balance",
        user(0, subaccountType="P"),
        reading=Reading(currency="USD", balance=Decimal(0), provider_account_id="305"),
    ),
    Answer(
        "numeric-string-balance",
        user("10.50"),
        reading=Reading(currency="USD", balance=Decimal("10.50")),
    ),
    # Trial accounts report a small trial balance: nothing special.
    Answer(
        "trial-account",
        user(0.4, status="T", subaccountType="P"),
        reading=Reading(currency="USD", balance=Decimal("0.4"), provider_account_id="305"),
    ),
    # Sub-accounts spend the parent's balance: their user id is not the account's.
    *(
        Answer(
            f"sub-account-{kind}",
            user(77.2, subaccountType=kind, currency={"id": "EUR", "htmlSymbol": "&euro;"}),
            reading=Reading(currency="EUR", balance=Decimal("77.2")),
        )
        for kind in ("A", "U")
    ),
    Answer(
        "lower-case-currency",
        user(5, currency={"id": "eur"}),
        reading=Reading(currency="EUR", balance=Decimal(5)),
    ),
    Answer(
        "no-balance-field",
        {"id": 305, "currency": USD},
        failure=Failure(Reason.INVALID_RESPONSE, "response has no balance field"),
    ),
    Answer(
        "null-balance",
        user(None),
        failure=Failure(Reason.INVALID_RESPONSE, "balance is null, not an amount"),
    ),
    Answer(
        "no-currency",
        {"id": 305, "balance": 1.5},
        failure=Failure(Reason.INVALID_RESPONSE, "currency is null, expected an object"),
    ),
    Answer(
        "currency-as-a-string",
        user(1.5, currency="USD"),
        failure=Failure(Reason.INVALID_RESPONSE, "currency is a string, expected an object"),
    ),
    Answer(
        "currency-without-id",
        user(1.5, currency={"htmlSymbol": "$"}),
        failure=Failure(Reason.INVALID_RESPONSE, "currency.id is missing"),
    ),
    Answer(
        "currency-symbol-as-id",
        user(1.5, currency={"id": "$"}),
        failure=Failure(Reason.INVALID_RESPONSE, "currency.id is not a currency code: '$'"),
    ),
    Answer(
        "id-not-an-integer",
        user(1.5, id="305", subaccountType="P"),
        failure=Failure(Reason.INVALID_RESPONSE, "response.id is a string, expected an integer"),
    ),
    Answer(
        "id-a-boolean",
        user(1.5, id=True, subaccountType="P"),
        failure=Failure(Reason.INVALID_RESPONSE, "response.id is a boolean, expected an integer"),
    ),
    Answer(
        "subaccount-type-not-a-string",
        user(1.5, subaccountType=1),
        failure=Failure(
            Reason.INVALID_RESPONSE, "response.subaccountType is a number, expected a string"
        ),
    ),
    # Errors: the common body; ``code`` repeats the status and adds nothing.
    Answer(
        "400",
        problem(400, "Invalid parameters"),
        status=400,
        failure=failed(400, "Invalid parameters", Reason.CLIENT_ERROR),
    ),
    Answer(
        "400-validation-errors",
        problem(400, "Validation Failed", {"common": ["Bad request"], "fields": {}}),
        status=400,
        failure=failed(400, "Validation Failed", Reason.CLIENT_ERROR),
    ),
    # Bad credentials and a user without the rights come alike: the message says both.
    Answer(
        "401",
        problem(401, "Unauthorized"),
        status=401,
        failure=failed(401, "Unauthorized", Reason.AUTH),
    ),
    Answer(
        "401-no-rights",
        problem(401, NO_RIGHTS),
        status=401,
        failure=failed(401, NO_RIGHTS, Reason.AUTH),
    ),
    Answer("401-empty", "", status=401, failure=failed(401, None, Reason.AUTH)),
    # Not documented: the generic reading, without the 401 hint.
    Answer(
        "403",
        problem(403, "Forbidden"),
        status=403,
        failure=failed(403, "Forbidden", Reason.AUTH),
    ),
    Answer(
        "404",
        problem(404, "Resource does not exist"),
        status=404,
        failure=failed(404, "Resource does not exist", Reason.CLIENT_ERROR),
    ),
    # No rate-limit header is documented: a bare 429 asks for no particular wait.
    Answer(
        "429",
        problem(429, "Too Many Requests"),
        status=429,
        failure=Failure(Reason.RATE_LIMITED, "HTTP 429: Too Many Requests", retry_after=NO_WAIT),
    ),
    Answer(
        "429-retry-after",
        problem(429, "Too Many Requests"),
        status=429,
        headers={"Retry-After": "7"},
        failure=Failure(Reason.RATE_LIMITED, "HTTP 429: Too Many Requests", retry_after=7.0),
    ),
    Answer(
        "500",
        problem(500, "Internal Server Error"),
        status=500,
        failure=failed(500, "Internal Server Error", Reason.SERVER_ERROR),
    ),
    Answer(
        "503-maintenance-page",
        "<html><body>Maintenance</body></html>",
        status=503,
        content_type="text/html",
        failure=failed(503, None, Reason.SERVER_ERROR),
    ),
    # The code decides nothing: the status does.
    Answer(
        "code-other-than-status",
        problem(401, "Unauthorized"),
        status=400,
        failure=failed(400, "Unauthorized", Reason.CLIENT_ERROR),
    ),
    Answer(
        "error-without-message",
        {"code": 500},
        status=500,
        failure=failed(500, None, Reason.SERVER_ERROR),
    ),
    # A key echoed where a code or a figure belongs never shows in the failure.
    Answer(
        "key-echoed-in-the-401",
        problem(401, f"Invalid key {API_KEY}"),
        status=401,
        failure=Failure(Reason.AUTH, contains=(HINT,)),
    ),
    Answer(
        "key-echoed-as-currency",
        user(1, currency={"id": API_KEY}),
        failure=Failure(Reason.INVALID_RESPONSE, contains=("currency.id",)),
    ),
    Answer(
        "key-echoed-as-id",
        user(1, id=API_KEY, subaccountType="P"),
        failure=Failure(Reason.INVALID_RESPONSE, "response.id is a string, expected an integer"),
    ),
]


def sim_user(balance: float, subaccount_type: str = "P") -> dict[str, Any]:
    return {
        "id": SIM_ID,
        "username": SIM_USER,
        "firstName": "Charles",
        "lastName": "Conway",
        "email": f"{SIM_USER}@example.com",
        "status": "A",
        "balance": balance,
        "currency": USD,
        "company": "Example Ltd.",
        "subaccountType": subaccount_type,
        "timezone": {
            "id": 185,
            "area": "Europe",
            "dst": 1,
            "offset": 0,
            "timezone": "Europe/London",
        },
    }


def sim_fault(fault: str, retry_after: str = "30") -> SimAccount:
    return replace(APIS[""].sim_account, fault=fault, retry_after=retry_after)


UNAUTHORIZED = problem(401, "Unauthorized")
RATE_LIMITED = problem(429, "Too Many Requests")

SIM_ANSWERS = [
    SimAnswer("healthy", APIS[""].sim_account, 200, sim_user(208.64), served=True),
    SimAnswer(
        "basic-auth-works-too",
        APIS[""].sim_account,
        200,
        sim_user(208.64),
        request=(PATH, {"Authorization": encode_basic_auth(SIM_USER, SIM_KEY)}),
        served=True,
    ),
    SimAnswer(
        "euro-account",
        replace(APIS[""].sim_account, currency="EUR", balance=Decimal("12.40")),
        200,
        {**sim_user(12.4), "currency": {"id": "EUR", "htmlSymbol": "&euro;"}},
        served=True,
    ),
    SimAnswer(
        "sub-account",
        replace(APIS[""].sim_account, state="sub-account"),
        200,
        sim_user(208.64, "A"),
        served=True,
    ),
    SimAnswer(
        "no-permission",
        replace(APIS[""].sim_account, state="no-permission"),
        401,
        problem(401, NO_RIGHTS),
    ),
    # Both headers must be the account's.
    SimAnswer(
        "wrong-key",
        APIS[""].sim_account,
        401,
        UNAUTHORIZED,
        request=(PATH, {"X-TM-Username": SIM_USER, "X-TM-Key": "wrong-key"}),
    ),
    SimAnswer(
        "wrong-username",
        APIS[""].sim_account,
        401,
        UNAUTHORIZED,
        request=(PATH, {"X-TM-Username": "someone.else", "X-TM-Key": SIM_KEY}),
    ),
    SimAnswer(
        "key-without-username",
        APIS[""].sim_account,
        401,
        UNAUTHORIZED,
        request=(PATH, {"X-TM-Key": SIM_KEY}),
    ),
    SimAnswer(
        "bearer-instead",
        APIS[""].sim_account,
        401,
        UNAUTHORIZED,
        request=(PATH, {"Authorization": f"Bearer {SIM_KEY}"}),
    ),
    SimAnswer("no-credentials", APIS[""].sim_account, 401, UNAUTHORIZED, request=(PATH, {})),
    # Faults, in Textmagic's shapes.
    SimAnswer("401", sim_fault("401"), 401, UNAUTHORIZED),
    SimAnswer("403", sim_fault("403"), 403, problem(403, "Forbidden")),
    SimAnswer("500", sim_fault("500"), 500, problem(500, "Internal Server Error")),
    SimAnswer(
        "503-retry-after",
        sim_fault("503-retry-after", retry_after="120"),
        503,
        problem(503, "Service Unavailable"),
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
        SimAnswer(
            fault,
            sim_fault(fault),
            200,
            {
                "id": 1,
                "username": "tm.amount",
                "balance": value,
                "currency": USD,
                "subaccountType": "P",
            },
        )
        for fault, value in (("nan", "NaN"), ("infinity", "Infinity"), ("thousands", "1,000.00"))
    ),
]


test_answer, test_simulator_answer = table_tests(PROVIDER, APIS, ANSWERS, SIM_ANSWERS)
