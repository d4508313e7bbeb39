"""Vonage's case table: its API for the registry-wide suites, its answers, its simulator.

get-balance answers ``{"value": <number>, "autoReload": <bool>}`` in EUR (no currency field),
its 401 ``{"error-code": "401", "error-code-label": "authentication failed"}``; the rest are
Vonage's RFC 7807 problems, whose code is the fragment of ``type``.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from aiohttp import encode_basic_auth
from provider_kit import (
    KEY_SECRET,
    NO_WAIT,
    Answer,
    Api,
    Failure,
    SimAnswer,
    simulator_answer,
    table_tests,
)

from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import Reason
from balance_exporter.simulator import SimAccount
from balance_exporter.simulator.providers.vonage import api_key_for

PROVIDER = "vonage"
API_KEY = "abcd1234"  # the user half of HTTP Basic: an identifier, not a secret
SIM_SECRET = "vonage-canary-Qm47"
SIM_API_KEY = api_key_for(SIM_SECRET)
PATH = "/account/get-balance"
ERRORS = "https://developer.vonage.com/api-errors"
INSTANCE = "797a8f199c45014ab7b08bfe9cc1c12c"
# Written out rather than imported, so that a changed body fails here.
AUTH_FAILED = {"error-code": "401", "error-code-label": "authentication failed"}


def problem(code: str | None, title: str, detail: str | None = None) -> dict[str, Any]:
    """An RFC 7807 problem as Vonage writes them; no code: a ``type`` without a fragment."""
    body = {"type": f"{ERRORS}#{code}" if code else "https://developer.nexmo.com/", "title": title}
    if detail is not None:
        body["detail"] = detail
    body["instance"] = INSTANCE
    return body


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": encode_basic_auth(user, password), "Accept": "application/json"}


APIS = {
    "": Api(
        config={"api_key": API_KEY, "api_secret": KEY_SECRET},
        url=f"https://rest.nexmo.com{PATH}",
        headers=basic(API_KEY, KEY_SECRET),
        success=lambda value: {"value": value, "autoReload": False},
        error=lambda text: problem(None, "Error", text),
        sim_account=SimAccount(PROVIDER, SIM_SECRET, balance=Decimal("10.171275"), currency="EUR"),
        sim_request=(PATH, basic(SIM_API_KEY, SIM_SECRET)),
    )
}


def failed(status: int, code: str, text: str, reason: Reason) -> Failure:
    return Failure(reason, f"HTTP {status}, vonage code {code}: {text}", code=code, status=status)


def euros(value: str) -> Reading:
    return Reading(currency="EUR", balance=Decimal(value))


NO_CREDENTIALS = "You did not provide correct credentials."
BAD_FORMAT = 'Invalid credentials format. Expected: "Authorization: (Base64(UTF-8(apiKey:secret)))"'
INTERNAL = "An error has occurred in the platform while processing this request"

ANSWERS = [
    Answer("success", {"value": 10.171275, "autoReload": False}, reading=euros("10.171275")),
    # Always EUR: the body has no currency field, whatever the account is invoiced in.
    Answer("auto-reload-on", {"value": 3.5, "autoReload": True}, reading=euros("3.5")),
    # The spec's own example, and a value whose digits a float would lose.
    Answer(
        "eight-decimals",
        '{"value": 10.17127500, "autoReload": false}',
        reading=euros("10.17127500"),
    ),
    Answer(
        "json-number-is-exact",
        '{"value": 1234567890.12345678, "autoReload": false}',
        reading=euros("1234567890.12345678"),
    ),
    Answer("zero", {"value": 0, "autoReload": False}, reading=euros("0")),
    Answer("negative", '{"value": -1.25000000, "autoReload": false}', reading=euros("-1.25")),
    # Not documented, but a plain numeric string is still an exact amount.
    Answer("numeric-string", {"value": "5.00", "autoReload": False}, reading=euros("5.00")),
    Answer("without-auto-reload", {"value": 7}, reading=euros("7")),
    Answer(
        "no-value-field",
        {"autoReload": False},
        failure=Failure(Reason.INVALID_RESPONSE, "response has no value field"),
    ),
    Answer(
        "null-value",
        {"value": None, "autoReload": False},
        failure=Failure(Reason.INVALID_RESPONSE, "value is null, not an amount"),
    ),
    # The path answers XML unless JSON is asked for; should XML come anyway, it is no reading.
    Answer(
        "xml-answer",
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        "<accountBalance><value>10.17127500</value><autoReload>false</autoReload></accountBalance>",
        content_type="application/xml",
        failure=Failure(
            Reason.INVALID_RESPONSE, "response is not JSON (Expecting value at line 1)"
        ),
    ),
    # The documented 401: its code is a string, and the label is the text.
    Answer(
        "401",
        AUTH_FAILED,
        status=401,
        failure=failed(401, "401", "authentication failed", Reason.AUTH),
    ),
    Answer(
        "401-code-as-a-number",
        {"error-code": 401, "error-code-label": "authentication failed"},
        status=401,
        failure=failed(401, "401", "authentication failed", Reason.AUTH),
    ),
    # The same body in a 200 (older Nexmo APIs did that): the error it names, not a reading.
    Answer(
        "401-body-in-a-200",
        AUTH_FAILED,
        failure=failed(200, "401", "authentication failed", Reason.AUTH),
    ),
    # The Account API's "success" envelope, without a value, is still no balance.
    Answer(
        "success-envelope-without-value",
        {"error-code": "200", "error-code-label": "success"},
        failure=Failure(Reason.INVALID_RESPONSE, "response has no value field"),
    ),
    # RFC 7807, as Vonage's other APIs answer: the code is the fragment of ``type``.
    Answer(
        "401-rfc7807",
        problem("unauthorized", "Invalid credentials supplied", NO_CREDENTIALS),
        status=401,
        content_type="application/problem+json",
        failure=failed(401, "unauthorized", NO_CREDENTIALS, Reason.AUTH),
    ),
    # The Account API's BadCredentialsError: a type without a fragment, so no code.
    Answer(
        "401-rfc7807-without-code",
        problem(None, "Unauthorized", BAD_FORMAT),
        status=401,
        content_type="application/problem+json",
        failure=Failure(Reason.AUTH, f"HTTP 401: {BAD_FORMAT}", code=None),
    ),
    # The code decides over the status: an unknown key comes as 404.
    Answer(
        "404-invalid-api-key",
        problem(
            "invalid-api-key",
            "Invalid API Key",
            "API key 'ABC123' does not exist, or you do not have access",
        ),
        status=404,
        failure=failed(
            404,
            "invalid-api-key",
            "API key 'ABC123' does not exist, or you do not have access",
            Reason.AUTH,
        ),
    ),
    Answer(
        "403-forbidden",
        problem(
            "forbidden", "Forbidden", "Your account does not have permission to perform this action"
        ),
        status=403,
        failure=failed(
            403,
            "forbidden",
            "Your account does not have permission to perform this action",
            Reason.AUTH,
        ),
    ),
    Answer(
        "account-suspended-on-400",
        problem("account-suspended", "Account Suspended", "This account has been suspended"),
        status=400,
        failure=failed(400, "account-suspended", "This account has been suspended", Reason.AUTH),
    ),
    Answer(
        "unprovisioned-on-400",
        problem("unprovisioned", "Unprovisioned"),
        status=400,
        failure=failed(400, "unprovisioned", "Unprovisioned", Reason.AUTH),
    ),
    # A code that decides nothing leaves the status to: title when there is no detail.
    Answer(
        "422-invalid-params-title-only",
        problem("invalid-params", "Invalid parameters"),
        status=422,
        failure=failed(422, "invalid-params", "Invalid parameters", Reason.CLIENT_ERROR),
    ),
    # 429 is not documented for this path: a problem or no body, Retry-After honoured if sent.
    Answer(
        "429-rfc7807-retry-after",
        problem("rate-limit", "Too Many Requests", "The request was rate limited"),
        status=429,
        headers={"Retry-After": "60"},
        failure=Failure(
            Reason.RATE_LIMITED,
            "HTTP 429, vonage code rate-limit: The request was rate limited",
            code="rate-limit",
            retry_after=60.0,
        ),
    ),
    Answer(
        "rate-limit-code-on-400",
        problem("rate-limit", "Too Many Requests", "The request was rate limited"),
        status=400,
        failure=failed(400, "rate-limit", "The request was rate limited", Reason.RATE_LIMITED),
    ),
    Answer(
        "429-empty",
        "",
        status=429,
        content_type="text/plain",
        failure=Failure(Reason.RATE_LIMITED, "HTTP 429", code=None, retry_after=NO_WAIT),
    ),
    Answer(
        "500-rfc7807",
        problem("internal-error", "Internal Error", INTERNAL),
        status=500,
        failure=failed(500, "internal-error", INTERNAL, Reason.SERVER_ERROR),
    ),
    Answer(
        "503-empty",
        "",
        status=503,
        content_type="text/plain",
        failure=Failure(Reason.SERVER_ERROR, "HTTP 503"),
    ),
    Answer(
        "error-body-with-neither-shape",
        {"message": "nope"},
        status=401,
        failure=Failure(Reason.AUTH, "HTTP 401", code=None),
    ),
    *(
        Answer(f"wrong-shape-{index}", body, failure=Failure(Reason.INVALID_RESPONSE))
        for index, body in enumerate(
            [
                {"value": [10.17], "autoReload": False},
                {"value": {"amount": 10.17}},
                {"value": True},
                {"value": "10.17 EUR"},
                {"balance": 10.17, "currency": "EUR"},
                [{"value": 10.17}],
                '"10.17"',
            ]
        )
    ),
    # A secret echoed where a figure, a code or a text belongs never shows in the failure.
    Answer(
        "secret-echoed-as-the-value",
        {"value": KEY_SECRET, "autoReload": False},
        failure=Failure(Reason.INVALID_RESPONSE, contains=("value",)),
    ),
    Answer(
        "secret-echoed-as-error-code",
        {"error-code": KEY_SECRET, "error-code-label": f"bad secret {KEY_SECRET}"},
        status=401,
        failure=Failure(Reason.AUTH, contains=("bad secret",)),
    ),
    Answer(
        "secret-echoed-in-a-200-error",
        {"error-code": "401", "error-code-label": f"secret {KEY_SECRET} refused"},
        failure=Failure(Reason.AUTH, contains=("refused",)),
    ),
    Answer(
        "secret-echoed-in-a-problem-type",
        problem(KEY_SECRET.lower(), "Unauthorized", f"no such secret {KEY_SECRET}"),
        status=401,
        failure=Failure(Reason.AUTH, contains=("no such secret",)),
    ),
]


def sim_fault(fault: str, retry_after: str = "30") -> SimAccount:
    return replace(APIS[""].sim_account, fault=fault, retry_after=retry_after)


# The simulator's trace ids: fixed per status and code, so that answers compare.
TRACE_IDS = {
    403: "0f9acc04dbac5096b11f6f3b16188ffd",
    429: "10425347469fe75076f1a8823485c6f2",
    500: "20f87678ab171a4e415349c75efcdadc",
    503: "6b72667b129097492250585e8a1c7f0e",
}


def sim_problem(status: int, code: str, title: str, detail: str) -> dict[str, Any]:
    return {**problem(code, title, detail), "instance": TRACE_IDS[status]}


HEALTHY = '{"value": 10.17127500, "autoReload": false}'
RATE_LIMITED = sim_problem(429, "rate-limit", "Too Many Requests", "The request was rate limited")
SERVER_ERROR = {
    status: sim_problem(status, "internal-error", "Internal Error", INTERNAL)
    for status in (500, 503)
}
QUERY = urlencode({"api_key": SIM_API_KEY, "api_secret": SIM_SECRET})

SIM_ANSWERS = [
    SimAnswer("healthy", APIS[""].sim_account, 200, HEALTHY, served=True),
    SimAnswer(
        "auto-reload",
        replace(APIS[""].sim_account, state="auto-reload"),
        200,
        '{"value": 10.17127500, "autoReload": true}',
        served=True,
    ),
    # Eight decimals at most, as Vonage writes them; the figure served is the rounded one.
    SimAnswer(
        "rounded-to-eight-decimals",
        replace(APIS[""].sim_account, balance=Decimal("-12.123456789")),
        200,
        '{"value": -12.12345679, "autoReload": false}',
        served=True,
    ),
    SimAnswer(
        "zero",
        replace(APIS[""].sim_account, balance=Decimal("0")),
        200,
        '{"value": 0.00000000, "autoReload": false}',
        served=True,
    ),
    # The spec's other way: key and secret as query parameters (the exporter never uses it).
    SimAnswer(
        "query-parameters",
        APIS[""].sim_account,
        200,
        HEALTHY,
        request=(f"{PATH}?{QUERY}", {}),
        served=True,
    ),
    # Wrong or missing credentials: get-balance's own 401.
    SimAnswer(
        "wrong-secret",
        APIS[""].sim_account,
        401,
        AUTH_FAILED,
        request=(PATH, basic(SIM_API_KEY, "wrong-secret")),
    ),
    SimAnswer(
        "another-api-key",
        APIS[""].sim_account,
        401,
        AUTH_FAILED,
        request=(PATH, basic(api_key_for("another"), SIM_SECRET)),
    ),
    SimAnswer(
        "bearer-instead-of-basic",
        APIS[""].sim_account,
        401,
        AUTH_FAILED,
        request=(PATH, {"Authorization": f"Bearer {SIM_SECRET}"}),
    ),
    SimAnswer(
        "secret-without-key-in-the-query",
        APIS[""].sim_account,
        401,
        AUTH_FAILED,
        request=(f"{PATH}?{urlencode({'api_secret': SIM_SECRET})}", {}),
    ),
    SimAnswer("no-authorization", APIS[""].sim_account, 401, AUTH_FAILED, request=(PATH, {})),
    # Faults, in Vonage's shapes.
    SimAnswer("401", sim_fault("401"), 401, AUTH_FAILED),
    SimAnswer(
        "403",
        sim_fault("403"),
        403,
        sim_problem(
            403,
            "forbidden",
            "Forbidden",
            "Your account does not have permission to perform this action",
        ),
    ),
    SimAnswer("500", sim_fault("500"), 500, SERVER_ERROR[500], absent=("Retry-After",)),
    SimAnswer(
        "503-retry-after",
        sim_fault("503-retry-after", retry_after="120"),
        503,
        SERVER_ERROR[503],
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
        SimAnswer(fault, sim_fault(fault), 200, {"value": value, "autoReload": False})
        for fault, value in (("nan", "NaN"), ("infinity", "Infinity"), ("thousands", "1,000.00"))
    ),
]


test_answer, test_simulator_answer = table_tests(PROVIDER, APIS, ANSWERS, SIM_ANSWERS)


# --- what does not fit a row --------------------------------------------------------------------


async def test_a_success_carries_a_request_id() -> None:
    # A fresh UUID each time, so no row can hold its value.
    status, headers, _, _ = await simulator_answer(APIS[""].sim_account, APIS[""].sim_request)
    assert status == 200
    assert uuid.UUID(headers["X-Request-Id"]).version == 4
