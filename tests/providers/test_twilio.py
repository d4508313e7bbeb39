"""Twilio's case table: its API for the registry-wide suites, its answers, its simulator.

One API, two ways to authenticate: the account SID with its auth token (``APIS[""]``), or an
API key SID and secret standing for the account (``API_KEY_WAY``, run through the same
checks by a table of its own, since an answer's config can add keys but not drop one).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import encode_basic_auth
from provider_kit import (
    AUTH_TOKEN,
    KEY_SECRET,
    Answer,
    Api,
    Failure,
    SimAnswer,
    check_answer,
    config_problems,
    fail,
    ids,
    mock_answer,
    only_request,
    provider_for,
    read,
    table_tests,
)

from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import Reason
from balance_exporter.simulator import SimAccount

PROVIDER = "twilio"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
KEY_SID = "SK" + "fedcba9876543210" * 2
OTHER_SID = "AC" + "0" * 32
SIM_TOKEN = "twilio-canary-Qm47"
PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Balance.json"
URL = f"https://api.twilio.com{PATH}"
# Written out rather than imported, so that a changed hint fails here.
NO_BALANCE = (
    "a subaccount or a Connect account has no balance of its own: configure the parent account"
)
WRONG_TOKEN = "Your AccountSid or AuthToken was incorrect."
REGION_NOTE = " (credentials work only in the region that issued them; this host is in {})"

APIS = {
    "": Api(
        config={"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN},
        url=URL,
        headers={"Authorization": encode_basic_auth(ACCOUNT_SID, AUTH_TOKEN)},
        success=lambda value: {"balance": value, "currency": "USD"},
        error=lambda text: {"code": 20005, "message": text, "more_info": "", "status": 400},
        sim_account=SimAccount(
            PROVIDER,
            SIM_TOKEN,
            balance=Decimal("0.05"),
            account_sid=ACCOUNT_SID,
            api_key_sid=KEY_SID,
        ),
        sim_request=(PATH, {"Authorization": encode_basic_auth(ACCOUNT_SID, SIM_TOKEN)}),
    )
}

# The same API reached with an API key: the key SID is the user, the account SID the path.
API_KEY_WAY = replace(
    APIS[""],
    config={"account_sid": ACCOUNT_SID, "api_key_sid": KEY_SID, "api_key_secret": KEY_SECRET},
    headers={"Authorization": encode_basic_auth(KEY_SID, KEY_SECRET)},
    error=lambda text: {"type": "t", "title": "E", "status": 400, "code": 20005, "detail": text},
    sim_request=(PATH, {"Authorization": encode_basic_auth(KEY_SID, SIM_TOKEN)}),
)


def legacy(status: int, code: int, message: str, detail: str | None = None) -> dict[str, Any]:
    """Twilio's own error body; the useful text is in ``detail`` when there is one."""
    body: dict[str, Any] = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    return body


def problem(status: int, code: int | str, title: str, detail: str | None = None) -> dict[str, Any]:
    """The RFC 9457 error body of Twilio's newer APIs."""
    body: dict[str, Any] = {
        "type": f"https://www.twilio.com/docs/errors/{code}",
        "title": title,
        "status": status,
        "code": code,
    }
    if detail is not None:
        body["detail"] = detail
    return body


def failed(status: int, code: str, text: str, reason: Reason) -> Failure:
    return Failure(reason, f"HTTP {status}, twilio code {code}: {text}", code=code)


REAL_401 = legacy(401, 20003, "Authenticate", WRONG_TOKEN)
SUBACCOUNT_404 = failed(404, "20404", NO_BALANCE, Reason.CLIENT_ERROR)
REGIONAL_401 = failed(401, "20003", WRONG_TOKEN + REGION_NOTE.format("ie1"), Reason.AUTH)

ANSWERS = [
    Answer(
        "success",
        {"balance": "0.05", "currency": "USD", "account_sid": ACCOUNT_SID},
        reading=Reading(currency="USD", balance=Decimal("0.05"), provider_account_id=ACCOUNT_SID),
    ),
    # What Twilio really answers a wrong SID or token: the text worth logging is ``detail``.
    Answer("401", REAL_401, status=401, failure=failed(401, "20003", WRONG_TOKEN, Reason.AUTH)),
    Answer(
        "401-without-detail",
        legacy(401, 20003, "Authenticate"),
        status=401,
        failure=failed(401, "20003", "Authenticate", Reason.AUTH),
    ),
    Answer(
        "401-rfc9457",
        problem(401, 20003, "Authentication Error", WRONG_TOKEN),
        status=401,
        failure=failed(401, "20003", WRONG_TOKEN, Reason.AUTH),
    ),
    # The code decides over the status; without a detail the title is the text.
    Answer(
        "auth-code-on-400-rfc9457-without-detail",
        problem(400, 20003, "Authentication Error"),
        status=400,
        failure=failed(400, "20003", "Authentication Error", Reason.AUTH),
    ),
    Answer(
        "429",
        legacy(429, 20429, "Too Many Requests"),
        status=429,
        headers={"Retry-After": "120"},
        failure=Failure(
            Reason.RATE_LIMITED, "HTTP 429, twilio code 20429: Too Many Requests", retry_after=120.0
        ),
    ),
    # Twilio's SDKs never read Retry-After: it may not come (the wait is tested as None below).
    Answer(
        "429-without-retry-after",
        legacy(429, 20429, "Too Many Requests"),
        status=429,
        failure=failed(429, "20429", "Too Many Requests", Reason.RATE_LIMITED),
    ),
    Answer(
        "500",
        legacy(500, 20500, "Internal Server Error"),
        status=500,
        failure=failed(500, "20500", "Internal Server Error", Reason.SERVER_ERROR),
    ),
    Answer(
        "503-rfc9457",
        problem(503, 20503, "Service Unavailable", "Try again later."),
        status=503,
        failure=failed(503, "20503", "Try again later.", Reason.SERVER_ERROR),
    ),
    Answer("404-empty", "", status=404, failure=Failure(Reason.CLIENT_ERROR, "HTTP 404")),
    # A subaccount or a Connect account: 404 code 20404 on Balance.json, or a null balance.
    Answer(
        "20404",
        legacy(
            404,
            20404,
            f"The requested resource /2010-04-01/Accounts/{ACCOUNT_SID}/Balance.json was not found",
        ),
        status=404,
        failure=SUBACCOUNT_404,
    ),
    Answer(
        "20404-rfc9457-string-code",
        problem(404, "20404", "Not Found", "The requested resource was not found"),
        status=404,
        failure=SUBACCOUNT_404,
    ),
    Answer(
        "null-balance-null-currency",
        {"balance": None, "currency": None, "account_sid": ACCOUNT_SID},
        failure=Failure(Reason.CLIENT_ERROR, NO_BALANCE),
    ),
    Answer(
        "null-balance-with-currency",
        {"balance": None, "currency": "USD", "account_sid": ACCOUNT_SID},
        failure=Failure(Reason.CLIENT_ERROR, NO_BALANCE),
    ),
    # No balance field at all is a broken answer, not a subaccount.
    Answer(
        "no-balance-field",
        {"result": ["unexpected"]},
        failure=Failure(Reason.INVALID_RESPONSE, "response has no balance field"),
    ),
    Answer(
        "account-sid-not-a-string",
        {"balance": 12, "currency": "USD", "account_sid": 7},
        failure=Failure(
            Reason.INVALID_RESPONSE, "response.account_sid is a number, expected a string"
        ),
    ),
    Answer(
        "empty-currency",
        {"balance": "1.00", "currency": ""},
        failure=Failure(Reason.INVALID_RESPONSE, "response.currency is not a currency code: ''"),
    ),
    Answer(
        "currency-in-the-balance",
        {"balance": "1.00 USD", "currency": "USD"},
        failure=Failure(Reason.INVALID_RESPONSE, "balance is not a plain number: '1.00 USD'"),
    ),
    # Echoed secrets: the kit checks no piece of the token shows in the failure.
    Answer(
        "token-echoed-as-currency",
        {"balance": "1", "currency": AUTH_TOKEN},
        failure=Failure(Reason.INVALID_RESPONSE, contains=("currency",)),
    ),
    Answer(
        "token-echoed-as-code",
        {"code": AUTH_TOKEN, "message": "Error", "status": 401},
        status=401,
        failure=Failure(Reason.AUTH, contains=("Error",)),
    ),
    # Regions: credentials work only where they were issued, and the failure says so.
    Answer(
        "401-on-a-regional-host",
        REAL_401,
        status=401,
        config={"region": "ie1", "edge": "dublin"},
        failure=REGIONAL_401,
    ),
    Answer(
        "401-on-a-regional-base-url",
        REAL_401,
        status=401,
        config={"base_url": "https://api.sydney.au1.twilio.com"},
        failure=failed(401, "20003", WRONG_TOKEN + REGION_NOTE.format("au1"), Reason.AUTH),
    ),
    # A base_url elsewhere (a simulator) is no region, whatever the settings say.
    Answer(
        "401-on-a-base-url-despite-region",
        REAL_401,
        status=401,
        config={"region": "ie1", "edge": "dublin", "base_url": "http://127.0.0.1:8080"},
        failure=failed(401, "20003", WRONG_TOKEN, Reason.AUTH),
    ),
    Answer(
        "success-on-a-regional-host",
        {"balance": "7.10", "currency": "EUR", "account_sid": ACCOUNT_SID},
        config={"region": "ie1", "edge": "dublin"},
        reading=Reading(currency="EUR", balance=Decimal("7.10"), provider_account_id=ACCOUNT_SID),
    ),
]

# The API-key way, polled with API_KEY_WAY.
API_KEY_ANSWERS = [
    Answer(
        "api-key-success",
        {"balance": "-3.75", "currency": "GBP"},
        reading=Reading(currency="GBP", balance=Decimal("-3.75")),
    ),
    Answer(
        "api-key-401-rfc9457",
        problem(401, 20003, "Authentication Error", WRONG_TOKEN),
        status=401,
        failure=failed(401, "20003", WRONG_TOKEN, Reason.AUTH),
    ),
    Answer(
        "api-key-secret-echoed-as-account-sid",
        {"balance": "1", "currency": "USD", "account_sid": [KEY_SECRET]},
        failure=Failure(Reason.INVALID_RESPONSE, contains=("account_sid",)),
    ),
    Answer(
        "api-key-secret-echoed-in-an-error",
        {"code": 20005, "message": f"bad key {KEY_SECRET}", "status": 400},
        status=400,
        failure=Failure(Reason.CLIENT_ERROR, code="20005"),
    ),
]


HEALTHY = {"account_sid": ACCOUNT_SID, "balance": "0.05", "currency": "USD"}
SIM_401 = legacy(401, 20003, "Authenticate", WRONG_TOKEN)
RATE_LIMITED = legacy(429, 20429, "Too Many Requests")


def sim_fault(fault: str, retry_after: str = "30") -> SimAccount:
    return replace(APIS[""].sim_account, fault=fault, retry_after=retry_after)


def with_auth(user: str, password: str, sid: str = ACCOUNT_SID) -> tuple[str, dict[str, str]]:
    return f"/2010-04-01/Accounts/{sid}/Balance.json", {
        "Authorization": encode_basic_auth(user, password)
    }


SIM_ANSWERS = [
    SimAnswer("healthy", APIS[""].sim_account, 200, HEALTHY, served=True),
    SimAnswer(
        "api-key-stands-for-the-account",
        APIS[""].sim_account,
        200,
        HEALTHY,
        request=API_KEY_WAY.sim_request,
        served=True,
    ),
    SimAnswer(
        "subaccount-null-balance",
        replace(APIS[""].sim_account, state="subaccount"),
        200,
        {"account_sid": ACCOUNT_SID, "balance": None, "currency": None},
    ),
    SimAnswer(
        "subaccount-404-names-the-resource",
        replace(APIS[""].sim_account, state="subaccount-404"),
        404,
        legacy(404, 20404, f"The requested resource {PATH} was not found"),
    ),
    # Wrong credentials, or the right ones presented otherwise: Twilio's own 401, with detail.
    SimAnswer(
        "wrong-token",
        APIS[""].sim_account,
        401,
        SIM_401,
        request=with_auth(ACCOUNT_SID, "wrong-token"),
    ),
    SimAnswer(
        "other-sid-as-user",
        APIS[""].sim_account,
        401,
        SIM_401,
        request=with_auth(OTHER_SID, SIM_TOKEN),
    ),
    SimAnswer(
        "other-sid-as-user-and-path",
        APIS[""].sim_account,
        401,
        SIM_401,
        request=with_auth(OTHER_SID, SIM_TOKEN, OTHER_SID),
    ),
    SimAnswer(
        "api-key-on-another-account-path",
        APIS[""].sim_account,
        401,
        SIM_401,
        request=with_auth(KEY_SID, SIM_TOKEN, OTHER_SID),
    ),
    SimAnswer(
        "bearer-instead-of-basic",
        APIS[""].sim_account,
        401,
        SIM_401,
        request=(PATH, {"Authorization": f"Bearer {SIM_TOKEN}"}),
    ),
    SimAnswer("no-authorization", APIS[""].sim_account, 401, SIM_401, request=(PATH, {})),
    # Faults, in Twilio's shapes.
    SimAnswer("401", sim_fault("401"), 401, SIM_401),
    SimAnswer("403", sim_fault("403"), 403, legacy(403, 20003, "Permission Denied")),
    SimAnswer("500", sim_fault("500"), 500, legacy(500, 20500, "Internal Server Error")),
    SimAnswer(
        "503-retry-after",
        sim_fault("503-retry-after", retry_after="120"),
        503,
        legacy(503, 20500, "Internal Server Error"),
        headers={"Retry-After": "120"},
    ),
    SimAnswer(
        "429-seconds",
        sim_fault("429-seconds", retry_after="37"),
        429,
        RATE_LIMITED,
        headers={"Retry-After": "37"},
    ),
    # What Twilio mostly sends: no Retry-After at all.
    SimAnswer("429-bare", sim_fault("429-bare"), 429, RATE_LIMITED, absent=("Retry-After",)),
    SimAnswer(
        "429-date",
        sim_fault("429-date"),
        429,
        RATE_LIMITED,
        headers={"Retry-After": "Fri, 13 Feb 2026 16:27:10 GMT"},
    ),
    *(
        SimAnswer(
            fault,
            sim_fault(fault),
            200,
            {"balance": value, "currency": "USD", "account_sid": None},
        )
        for fault, value in (("nan", "NaN"), ("infinity", "Infinity"), ("thousands", "1,000.00"))
    ),
]


test_answer, test_simulator_answer = table_tests(PROVIDER, APIS, ANSWERS, SIM_ANSWERS)


@pytest.mark.parametrize("answer", API_KEY_ANSWERS, ids=ids(API_KEY_ANSWERS))
async def test_api_key_answer(answer: Answer, http: Any, session: aiohttp.ClientSession) -> None:
    await check_answer(PROVIDER, {"": API_KEY_WAY}, answer, http, session)


# --- what does not fit a row --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api", "more", "url"),
    [
        (APIS[""], {}, URL),
        (API_KEY_WAY, {}, URL),  # the account SID names the path, whoever authenticates
        (APIS[""], {"region": "ie1", "edge": "dublin"}, f"https://api.dublin.ie1.twilio.com{PATH}"),
        (
            API_KEY_WAY,
            {"region": "au1", "edge": "sydney"},
            f"https://api.sydney.au1.twilio.com{PATH}",
        ),
        # base_url still replaces the host.
        (
            APIS[""],
            {"region": "ie1", "edge": "dublin", "base_url": "http://127.0.0.1:8080/"},
            f"http://127.0.0.1:8080{PATH}",
        ),
    ],
    ids=["token", "api-key", "region", "api-key-region", "base-url-over-region"],
)
async def test_request_sent(
    api: Api, more: dict[str, str], url: str, http: Any, session: aiohttp.ClientSession
) -> None:
    adapter_ = provider_for(PROVIDER, api, **more)
    mock_answer(http, url, api.success("1.00"))

    assert await read(adapter_, session) == Reading(currency="USD", balance=Decimal("1.00"))
    sent_url, headers = only_request(http)
    assert sent_url == url
    assert headers["Authorization"] == api.headers["Authorization"]


async def test_429_without_retry_after_asks_no_wait(
    http: Any, session: aiohttp.ClientSession
) -> None:
    adapter_ = provider_for(PROVIDER, APIS[""])
    mock_answer(http, URL, legacy(429, 20429, "Too Many Requests"), status=429)

    failure = await fail(adapter_, session)

    assert failure.reason is Reason.RATE_LIMITED
    assert failure.retry_after is None


@pytest.mark.parametrize(
    ("more", "problem_line"),
    [
        (
            {"region": "ie1"},
            "region: needs edge too: api.ie1.twilio.com stopped working on 2026-04-28;"
            " add edge: dublin (the host is https://api.dublin.ie1.twilio.com)",
        ),
        (
            {"region": "zz9"},
            "region: needs edge too: api.zz9.twilio.com stopped working on 2026-04-28;"
            " add the edge that serves zz9 (the host is https://api.<edge>.zz9.twilio.com)",
        ),
        (
            {"edge": "sydney"},
            "edge: needs region too: the host is https://api.sydney.<region>.twilio.com",
        ),
        (
            {"base_url": "https://api.ie1.twilio.com"},
            "base_url: api.ie1.twilio.com stopped working on 2026-04-28:"
            " use https://api.dublin.ie1.twilio.com (or region: ie1 with edge: dublin)",
        ),
        (
            {"base_url": "https://api.au1.twilio.com/", "region": "au1", "edge": "sydney"},
            "base_url: api.au1.twilio.com stopped working on 2026-04-28:"
            " use https://api.sydney.au1.twilio.com (or region: au1 with edge: sydney)",
        ),
    ],
    ids=[
        "region-without-edge",
        "unknown-region-without-edge",
        "edge-without-region",
        "legacy-base-url",
        "legacy-base-url-with-region",
    ],
)
def test_region_config_problem(more: dict[str, str], problem_line: str) -> None:
    assert config_problems(PROVIDER, APIS[""], **more) == [
        f"<case>: accounts[0] 'x': {problem_line}"
    ]
