"""BulkSMS's case table: its API for the registry-wide suites, its answers, its simulator.

One API; a username and password, or an API token id and secret, sent the same way.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import encode_basic_auth
from provider_kit import (
    API_KEY,
    NO_WAIT,
    USER_AGENT,
    Answer,
    Api,
    Failure,
    SimAnswer,
    config_problems,
    mock_answer,
    only_request,
    provider_for,
    read,
    table_tests,
)

from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import Reason
from balance_exporter.simulator import SimAccount
from balance_exporter.simulator.providers.bulksms import profile_id, username_for

PROVIDER = "bulksms"
USERNAME = "john"
TOKEN_ID = "9E8F7B6A5C4D3E2F1A0B9C8D7E6F5A4B-02-3"
PATH = "/v1/profile"
URL = f"https://api.bulksms.com{PATH}"
ERRORS = "https://developer.bulksms.com/json/v1/errors"
# Written out rather than imported, so that a changed text fails here.
AUTH_DETAIL = "Full authentication is required to access this resource"
SIM_KEY = "bulksms-canary-Qm47"
SIM_USER = username_for(SIM_KEY)
SIM_ID = profile_id(SIM_KEY)

APIS = {
    "": Api(
        config={"username": USERNAME, "password": API_KEY},
        url=URL,
        headers={
            "Authorization": encode_basic_auth(USERNAME, API_KEY),
            "Accept": "application/json",
        },
        success=lambda value: {
            "id": "1234567",
            "username": USERNAME,
            "credits": {"balance": value},
        },
        error=lambda text: {"type": "about:blank", "title": "Error", "status": 400, "detail": text},
        sim_account=SimAccount(PROVIDER, SIM_KEY, balance=Decimal("1234.5"), currency="credits"),
        sim_request=(PATH, {"Authorization": encode_basic_auth(SIM_USER, SIM_KEY)}),
    )
}


def problem(status: int, title: str, kind: str, detail: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": kind, "title": title, "status": status}
    if detail is not None:
        body["detail"] = detail
    return body


def failed(status: int, code: str, text: str, reason: Reason) -> Failure:
    return Failure(reason, f"HTTP {status}, bulksms code {code}: {text}", code=code)


def credits(balance: Any, **more: Any) -> dict[str, Any]:
    """A profile as the docs show it, with ``balance`` credits."""
    return {
        "id": "1234567",
        "username": USERNAME,
        "created": "2017-01-01T10:00:00+01:00",
        "credits": {"balance": balance, "isTransferAllowed": False, "limit": 0},
        "quota": {"size": 5000, "remaining": 4990},
        **more,
    }


def reading(balance: str, account_id: str | None = "1234567") -> Reading:
    return Reading(currency="credits", balance=Decimal(balance), provider_account_id=account_id)


AUTH_401 = problem(401, "Authentication Failed", f"{ERRORS}#authentication-failed", AUTH_DETAIL)

ANSWERS = [
    # The docs' example: a float number of credits, read exactly; the unit is the word.
    Answer("profile", credits(1234.5), reading=reading("1234.5")),
    Answer(
        "json-floats-are-exact",
        '{"id": "1", "username": "j", "credits": {"balance": 0.1}}',
        reading=reading("0.1", "1"),
    ),
    Answer(
        "large-float-is-exact",
        '{"id": "1", "username": "j", "credits": {"balance": 123456789012.34}}',
        reading=reading("123456789012.34", "1"),
    ),
    Answer("integer-balance", credits(1234), reading=reading("1234")),
    Answer("zero-credits", credits(0.0), reading=reading("0")),
    # A numeric string is not what the docs show, but says the same number.
    Answer("numeric-string-balance", credits("17.25"), reading=reading("17.25")),
    # The daily message quota is not credits: spent, it changes nothing in the reading.
    Answer(
        "quota-spent-credits-left",
        {**credits(1234.5), "quota": {"size": 5000, "remaining": 0}},
        reading=reading("1234.5"),
    ),
    # Clients must ignore unknown properties: new ones may appear.
    Answer(
        "unknown-and-optional-fields-ignored",
        credits(
            42.5,
            company={"name": "ACME", "taxReference": "X1"},
            originAddresses={"allowed": ["ACME"], "isFullControlAllowed": False},
            loyalty={"tier": "gold"},
        ),
        reading=reading("42.5"),
    ),
    Answer(
        "no-id",
        {"username": USERNAME, "credits": {"balance": 3.5}},
        reading=reading("3.5", None),
    ),
    Answer(
        "id-not-a-string",
        {**credits(1.5), "id": 1234567},
        failure=Failure(Reason.INVALID_RESPONSE, "response.id is a number, expected a string"),
    ),
    Answer(
        "no-credits",
        {"id": "1234567", "username": USERNAME, "quota": {"size": 5000, "remaining": 4990}},
        failure=Failure(Reason.INVALID_RESPONSE, "credits is null, expected an object"),
    ),
    Answer(
        "credits-without-balance",
        credits(1, credits={"isTransferAllowed": True, "limit": 0}),
        failure=Failure(Reason.INVALID_RESPONSE, "credits has no balance field"),
    ),
    Answer(
        "null-balance",
        credits(None),
        failure=Failure(Reason.INVALID_RESPONSE, "credits.balance is null, not an amount"),
    ),
    Answer(
        "credits-as-a-number",
        credits(1, credits=1234.5),
        failure=Failure(Reason.INVALID_RESPONSE, "credits is a number, expected an object"),
    ),
    # A problem document sent with 200 is no profile.
    Answer(
        "problem-with-status-200",
        AUTH_401,
        failure=Failure(Reason.INVALID_RESPONSE, "credits is null, expected an object"),
    ),
    # Errors: the type's fragment is the code, and decides over the status where it says more.
    Answer(
        "401-authentication-failed",
        AUTH_401,
        status=401,
        failure=failed(401, "authentication-failed", AUTH_DETAIL, Reason.AUTH),
    ),
    Answer(
        "401-without-detail",
        problem(401, "Authentication Failed", f"{ERRORS}#authentication-failed"),
        status=401,
        failure=failed(401, "authentication-failed", "Authentication Failed", Reason.AUTH),
    ),
    Answer(
        "authentication-failed-on-400",
        problem(400, "Authentication Failed", f"{ERRORS}#authentication-failed", "Bad login."),
        status=400,
        failure=failed(400, "authentication-failed", "Bad login.", Reason.AUTH),
    ),
    # The spec's own examples: "…/errors/#…" with a slash, and details ending in a newline.
    Answer(
        "400-bad-request",
        problem(
            400,
            "Bad Request",
            f"{ERRORS}/#bad-request",
            "Invoking the Webhook URL caused an error: 403 - Forbidden\n",
        ),
        status=400,
        failure=failed(
            400,
            "bad-request",
            "Invoking the Webhook URL caused an error: 403 - Forbidden",
            Reason.CLIENT_ERROR,
        ),
    ),
    Answer(
        "400-validation",
        problem(400, "Validation Failed", f"{ERRORS}#validation", "limit must be positive"),
        status=400,
        failure=failed(400, "validation", "limit must be positive", Reason.CLIENT_ERROR),
    ),
    Answer(
        "403-insufficient-credits",
        problem(403, "Insufficient Credits", f"{ERRORS}#insufficient-credits"),
        status=403,
        failure=failed(403, "insufficient-credits", "Insufficient Credits", Reason.AUTH),
    ),
    Answer(
        "403-refused",
        problem(403, "Forbidden", "about:blank"),
        status=403,
        failure=Failure(Reason.AUTH, "HTTP 403: Forbidden", code=None),
    ),
    Answer(
        "404-not-found",
        problem(404, "Not Found", f"{ERRORS}/#not-found", "Webhook with id '1' does not exist\n"),
        status=404,
        failure=failed(404, "not-found", "Webhook with id '1' does not exist", Reason.CLIENT_ERROR),
    ),
    # Not documented: whatever comes is read by its status, its wait from Retry-After.
    Answer(
        "429-retry-after",
        problem(429, "Too Many Requests", "about:blank"),
        status=429,
        headers={"Retry-After": "30"},
        failure=Failure(Reason.RATE_LIMITED, "HTTP 429: Too Many Requests", retry_after=30.0),
    ),
    Answer(
        "429-bare",
        problem(429, "Too Many Requests", "about:blank"),
        status=429,
        failure=Failure(Reason.RATE_LIMITED, "HTTP 429: Too Many Requests", retry_after=NO_WAIT),
    ),
    Answer(
        "500",
        problem(500, "Internal Server Error", "about:blank"),
        status=500,
        failure=Failure(Reason.SERVER_ERROR, "HTTP 500: Internal Server Error"),
    ),
    Answer(
        "503",
        problem(503, "Service Unavailable", "about:blank"),
        status=503,
        headers={"Retry-After": "120"},
        failure=Failure(Reason.SERVER_ERROR, "HTTP 503: Service Unavailable", retry_after=120.0),
    ),
    Answer(
        "502-html",
        "<html><body>Bad gateway</body></html>",
        status=502,
        content_type="text/html",
        failure=Failure(Reason.SERVER_ERROR, "HTTP 502"),
    ),
    Answer(
        "blank-detail-falls-back-to-the-title",
        problem(404, "Not Found", f"{ERRORS}#not-found", " \n"),
        status=404,
        failure=failed(404, "not-found", "Not Found", Reason.CLIENT_ERROR),
    ),
    Answer(
        "type-without-fragment-is-no-code",
        problem(401, "Unauthorized", f"{ERRORS}/authentication-failed", "Bad credentials"),
        status=401,
        failure=Failure(Reason.AUTH, "HTTP 401: Bad credentials", code=None),
    ),
    Answer(
        "members-of-the-wrong-type",
        {"type": 7, "title": ["x"], "status": "401", "detail": {"text": "x"}},
        status=401,
        failure=Failure(Reason.AUTH, "HTTP 401"),
    ),
    # The password echoed back never shows, as a text or as the code.
    Answer(
        "password-echoed-in-detail",
        problem(401, "Authentication Failed", f"{ERRORS}#authentication-failed", API_KEY),
        status=401,
        failure=Failure(Reason.AUTH, code="authentication-failed"),
    ),
    Answer(
        "password-echoed-as-the-type-fragment",
        problem(400, "Bad Request", f"{ERRORS}#{API_KEY}", "Bad request"),
        status=400,
        failure=Failure(Reason.CLIENT_ERROR, contains=("Bad request",)),
    ),
    Answer(
        "password-echoed-as-the-balance",
        credits(API_KEY),
        failure=Failure(Reason.INVALID_RESPONSE, contains=("credits.balance",)),
    ),
]

SIM_401 = AUTH_401
SIM_403 = problem(403, "Forbidden", "about:blank")


def sim_profile(balance: float, remaining: int = 4990) -> dict[str, Any]:
    return {
        "id": SIM_ID,
        "username": SIM_USER,
        "created": "2017-01-01T10:00:00+01:00",
        "credits": {"balance": balance, "isTransferAllowed": False, "limit": 0},
        "quota": {"size": 5000, "remaining": remaining},
    }


def sim_fault(fault: str, retry_after: str = "30") -> SimAccount:
    return replace(APIS[""].sim_account, fault=fault, retry_after=retry_after)


def with_auth(user: str, password: str) -> tuple[str, dict[str, str]]:
    return PATH, {"Authorization": encode_basic_auth(user, password)}


SIM_ANSWERS = [
    SimAnswer("healthy", APIS[""].sim_account, 200, sim_profile(1234.5), served=True),
    # The number as Java writes a float field, exactly: no trailing zeros, never an exponent.
    SimAnswer(
        "balance-as-exact-json-text",
        replace(APIS[""].sim_account, balance=Decimal("100.00")),
        200,
        json.dumps(sim_profile(1234.5)).replace("1234.5", "100.0"),
        served=True,
    ),
    SimAnswer(
        "negative-balance",
        replace(APIS[""].sim_account, balance=Decimal("-12.50")),
        200,
        sim_profile(-12.5),
        served=True,
    ),
    # Today's quota spent: the credits are all there, and a trustworthy balance.
    SimAnswer(
        "quota-used",
        replace(APIS[""].sim_account, state="quota-used"),
        200,
        sim_profile(1234.5, remaining=0),
        served=True,
    ),
    SimAnswer(
        "wrong-password", APIS[""].sim_account, 401, SIM_401, request=with_auth(SIM_USER, "x")
    ),
    SimAnswer(
        "wrong-username", APIS[""].sim_account, 401, SIM_401, request=with_auth("john", SIM_KEY)
    ),
    SimAnswer(
        "bearer-instead-of-basic",
        APIS[""].sim_account,
        401,
        SIM_401,
        request=(PATH, {"Authorization": f"Bearer {SIM_KEY}"}),
    ),
    SimAnswer("no-authorization", APIS[""].sim_account, 401, SIM_401, request=(PATH, {})),
    # Faults, in BulkSMS's problem shape.
    SimAnswer("401", sim_fault("401"), 401, SIM_401),
    SimAnswer("403", sim_fault("403"), 403, SIM_403),
    SimAnswer("500", sim_fault("500"), 500, problem(500, "Internal Server Error", "about:blank")),
    SimAnswer(
        "503-retry-after",
        sim_fault("503-retry-after", retry_after="120"),
        503,
        problem(503, "Service Unavailable", "about:blank"),
        headers={"Retry-After": "120"},
    ),
    SimAnswer(
        "429-seconds",
        sim_fault("429-seconds", retry_after="37"),
        429,
        problem(429, "Too Many Requests", "about:blank"),
        headers={"Retry-After": "37"},
    ),
    SimAnswer(
        "429-bare",
        sim_fault("429-bare"),
        429,
        problem(429, "Too Many Requests", "about:blank"),
        absent=("Retry-After",),
    ),
    *(
        SimAnswer(
            fault,
            sim_fault(fault),
            200,
            {
                "id": profile_id("bulksms-amount"),
                "username": username_for("bulksms-amount"),
                "created": "2017-01-01T10:00:00+01:00",
                "credits": {"balance": value, "isTransferAllowed": False, "limit": 0},
                "quota": {"size": 5000, "remaining": 4990},
            },
        )
        for fault, value in (("nan", "NaN"), ("infinity", "Infinity"), ("thousands", "1,000.00"))
    ),
]


test_answer, test_simulator_answer = table_tests(PROVIDER, APIS, ANSWERS, SIM_ANSWERS)


# --- what does not fit a row --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("more", "url", "user"),
    [
        ({}, URL, USERNAME),
        # An API token: its id is the user, its secret the password.
        ({"username": TOKEN_ID}, URL, TOKEN_ID),
        # base_url replaces the scheme and host; the /v1 path stays.
        ({"base_url": "http://127.0.0.1:8080/"}, f"http://127.0.0.1:8080{PATH}", USERNAME),
    ],
    ids=["username", "api-token", "base-url"],
)
async def test_request_sent(
    more: dict[str, str], url: str, user: str, http: Any, session: aiohttp.ClientSession
) -> None:
    adapter_ = provider_for(PROVIDER, APIS[""], **more)
    mock_answer(http, url, credits(7.5))

    assert await read(adapter_, session) == reading("7.5")
    assert only_request(http) == (
        url,
        {
            "User-Agent": USER_AGENT,
            "Authorization": encode_basic_auth(user, API_KEY),
            "Accept": "application/json",
        },
    )


@pytest.mark.parametrize(
    ("more", "problem_line"),
    [
        (
            {"base_url": "http://api.bulksms.com"},
            "base_url: plain http is deprecated by BulkSMS: use https://api.bulksms.com",
        ),
        (
            {"username": "john:doe"},
            "username: not a valid value (username or API token id, no colon)",
        ),
    ],
    ids=["plain-http-base-url", "colon-in-username"],
)
def test_config_problem(more: dict[str, str], problem_line: str) -> None:
    assert config_problems(PROVIDER, APIS[""], **more) == [
        f"<case>: accounts[0] 'x': {problem_line}"
    ]


def test_https_base_url_is_fine() -> None:
    adapter_ = provider_for(PROVIDER, APIS[""], base_url="https://api.bulksms.com")
    assert adapter_.request().url == URL
