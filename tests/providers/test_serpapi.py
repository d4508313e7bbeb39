"""SerpApi's case table: its API for the registry-wide suites, its answers, its simulator.

The key travels in the query string, so the request URL is a secret: the rows below serve
error bodies that quote that URL, echo the key percent-encoded, and a success body that echoes
it (as SerpApi's does); the network errors that quote the URL are a table of their own.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from provider_kit import (
    API_KEY,
    NO_WAIT,
    USER_AGENT,
    Answer,
    Api,
    Failure,
    SimAnswer,
    SimClock,
    assert_failure,
    assert_no_secret,
    check_answer,
    fail,
    ids,
    mock_answer,
    only_request,
    provider_for,
    read,
    table_tests,
)
from yarl import URL

from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import Reason
from balance_exporter.simulator import SimAccount, Simulator
from balance_exporter.simulator.providers.registry import SIMULATED
from balance_exporter.simulator.providers.serpapi import account_id_for

PROVIDER = "serpapi"
SIM_KEY = "serpapi-canary-Qm47"
URL_TEXT = f"https://serpapi.com/account.json?api_key={API_KEY}"
ACCEPT = {"Accept": "application/json"}
BLANKED = "********"
# A key that percent-encoding changes. Its first special character comes within the first
# 8 characters: see HARD_TO_BLANK for one whose does not.
ODD_KEY = "k+y=can&ry 9f8e%7d6c;5b4a3210" + "0a1b2c3d4e5f6789" * 2
ODD_QUOTED = quote(ODD_KEY, safe="")
ODD_URL = f"https://serpapi.com/account.json?api_key={ODD_QUOTED}"
# Written out rather than imported, so that a changed text fails here.
INVALID_KEY = "Invalid API key. Your API key should be here: https://serpapi.com/manage-api-key"
RUN_OUT = "Your account has run out of searches."
OUT_HINT = (
    " (out of searches, not a throttle: the balance is 0 until the plan renews or searches are"
    " added; polling less often will not help)"
)
ACCOUNT_ID = "5ac54d6adefb2f1dba1663f5"


def midnight(day: str) -> float:
    return datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()


def account(**figures: Any) -> dict[str, Any]:
    """The documentation's example body (the key echoed), with ``figures`` changed."""
    return {
        "account_id": ACCOUNT_ID,
        "api_key": API_KEY,
        "account_email": "demo@serpapi.com",
        "account_status": "Active",
        "plan_id": "bigdata",
        "plan_name": "Big Data Plan",
        "plan_monthly_price": 250.0,
        "plan_renewal_date": "2026-12-17",
        "searches_per_month": 30000,
        "plan_searches_left": 5958,
        "extra_credits": 0,
        "total_searches_left": 5958,
        "this_month_usage": 24042,
        "this_hour_searches": 87,
        "last_hour_searches": 42,
        "account_rate_limit_per_hour": 6000,
        **figures,
    }


def searches(left: int | str, reset: str | None = "2026-12-17", **more: Any) -> Reading:
    return Reading(
        currency="searches",
        balance=Decimal(left),
        quota_reset=None if reset is None else midnight(reset),
        **more,
    )


def error(text: Any) -> dict[str, Any]:
    return {"error": text}


APIS = {
    "": Api(
        config={"api_key": API_KEY},
        url=URL_TEXT,
        headers=ACCEPT,  # the credential is in the URL, never in a header
        success=lambda value: account(total_searches_left=value),
        error=error,
        sim_account=SimAccount(PROVIDER, SIM_KEY, balance=Decimal(5958), currency="searches"),
        sim_request=(f"/account.json?api_key={SIM_KEY}", ACCEPT),
    )
}

ANSWERS = [
    # The documented body, the key echoed in it: only the figures are read, nothing else.
    Answer(
        "docs-example-echoing-the-key",
        account(),
        reading=searches(5958, provider_account_id=ACCOUNT_ID),
    ),
    # The issue's example: no account_id, another renewal date.
    Answer(
        "issue-example",
        {
            "api_key": API_KEY,
            "plan_searches_left": 5958,
            "extra_credits": 0,
            "total_searches_left": 5958,
            "this_month_usage": 24042,
            "account_rate_limit_per_hour": 6000,
            "plan_renewal_date": "2027-01-01",
        },
        reading=searches(5958, "2027-01-01"),
    ),
    # The balance is the total, plan searches plus extra credits.
    Answer(
        "extra-credits-count",
        account(plan_searches_left=100, extra_credits=2500, total_searches_left=2600),
        reading=searches(2600, provider_account_id=ACCOUNT_ID),
    ),
    # Without a monthly plan: only credits, no renewal, so no reset time.
    Answer(
        "credits-only-null-renewal",
        account(
            plan_searches_left=0,
            extra_credits=750,
            total_searches_left=750,
            plan_renewal_date=None,
        ),
        reading=searches(750, None, provider_account_id=ACCOUNT_ID),
    ),
    Answer(
        "renewal-date-absent",
        {"total_searches_left": 12},
        reading=searches(12, None),
    ),
    Answer(
        "nothing-left",
        account(plan_searches_left=0, total_searches_left=0, this_month_usage=30000),
        reading=searches(0, provider_account_id=ACCOUNT_ID),
    ),
    Answer(
        "no-account-id",
        {"total_searches_left": 1, "plan_renewal_date": "2026-02-28"},
        reading=searches(1, "2026-02-28"),
    ),
    # The key where the id belongs: a label is never redacted, so no id at all.
    Answer(
        "key-echoed-as-account-id",
        account(account_id=API_KEY),
        reading=searches(5958),
    ),
    Answer(
        "key-echoed-percent-encoded-as-account-id",
        account(account_id=f"id-{ODD_QUOTED}", api_key=ODD_KEY),
        config={"api_key": ODD_KEY},
        reading=searches(5958),
    ),
    Answer(
        "no-total",
        {"plan_searches_left": 5958, "extra_credits": 0},
        failure=Failure(Reason.INVALID_RESPONSE, "response has no total_searches_left field"),
    ),
    Answer(
        "total-null",
        account(total_searches_left=None),
        failure=Failure(Reason.INVALID_RESPONSE, "total_searches_left is null, not an amount"),
    ),
    Answer(
        "renewal-with-a-time",
        account(plan_renewal_date="2026-12-17T00:00:00Z"),
        failure=Failure(
            Reason.INVALID_RESPONSE,
            "plan_renewal_date is not a time like %Y-%m-%d: '2026-12-17T00:00:00Z'",
        ),
    ),
    Answer(
        "renewal-a-number",
        account(plan_renewal_date=20261217),
        failure=Failure(Reason.INVALID_RESPONSE, "plan_renewal_date is a number, expected a time"),
    ),
    Answer(
        "account-id-a-number",
        account(account_id=7),
        failure=Failure(
            Reason.INVALID_RESPONSE, "response.account_id is a number, expected a string"
        ),
    ),
    Answer(
        "key-echoed-as-renewal-date",
        account(plan_renewal_date=API_KEY),
        failure=Failure(Reason.INVALID_RESPONSE, contains=(BLANKED,)),
    ),
    # Errors: {"error": text}, no code; the status decides, but for the 429 below.
    Answer(
        "401",
        error(INVALID_KEY),
        status=401,
        failure=Failure(Reason.AUTH, f"HTTP 401: {INVALID_KEY}", status=401),
    ),
    Answer(
        "403",
        error("This account doesn't have permission to perform the request."),
        status=403,
        failure=Failure(
            Reason.AUTH, "HTTP 403: This account doesn't have permission to perform the request."
        ),
    ),
    Answer(
        "400",
        error("Missing `api_key` parameter."),
        status=400,
        failure=Failure(Reason.CLIENT_ERROR, "HTTP 400: Missing `api_key` parameter."),
    ),
    Answer(
        "500",
        error("Something went wrong."),
        status=500,
        failure=Failure(Reason.SERVER_ERROR, "HTTP 500: Something went wrong."),
    ),
    Answer(
        "503-html",
        "<html><body>Service Unavailable</body></html>",
        status=503,
        content_type="text/html",
        failure=Failure(Reason.SERVER_ERROR, "HTTP 503"),
    ),
    Answer(
        "error-not-a-string",
        error({"text": "nested"}),
        status=401,
        failure=Failure(Reason.AUTH, "HTTP 401"),
    ),
    # A 429 is throttled, or out of searches: only the text tells which.
    Answer(
        "429-throttled",
        error("The number of requests sent using this API key exceeds the hourly throughput."),
        status=429,
        failure=Failure(
            Reason.RATE_LIMITED,
            "HTTP 429: The number of requests sent using this API key exceeds the hourly"
            " throughput.",
            retry_after=NO_WAIT,
        ),
    ),
    Answer(
        "429-out-of-searches",
        error(RUN_OUT),
        status=429,
        failure=Failure(
            Reason.CLIENT_ERROR, f"HTTP 429: {RUN_OUT}{OUT_HINT}", retry_after=NO_WAIT, status=429
        ),
    ),
    Answer(
        "429-out-of-searches-other-case-and-more-text",
        error("Your account has RUN OUT OF SEARCHES. Upgrade your plan."),
        status=429,
        failure=Failure(
            Reason.CLIENT_ERROR,
            f"HTTP 429: Your account has RUN OUT OF SEARCHES. Upgrade your plan.{OUT_HINT}",
        ),
    ),
    # Backed off the same way: a wait asked for is still honoured.
    Answer(
        "429-out-of-searches-with-retry-after",
        error(RUN_OUT),
        status=429,
        headers={"Retry-After": "3600"},
        failure=Failure(Reason.CLIENT_ERROR, retry_after=3600.0),
    ),
    # Only a 429 says so: the same words elsewhere keep their status's reason.
    Answer(
        "out-of-searches-text-on-403",
        error(RUN_OUT),
        status=403,
        failure=Failure(Reason.AUTH, f"HTTP 403: {RUN_OUT}"),
    ),
    # The request URL holds the key: quoted back, it is blanked.
    Answer(
        "error-quotes-the-request-url",
        error(f"Invalid API key in GET {URL_TEXT}"),
        status=401,
        failure=Failure(
            Reason.AUTH,
            f"HTTP 401: Invalid API key in GET https://serpapi.com/account.json?api_key={BLANKED}",
        ),
    ),
    Answer(
        "429-out-of-searches-quotes-the-url",
        error(f"{RUN_OUT} ({URL_TEXT})"),
        status=429,
        failure=Failure(
            Reason.CLIENT_ERROR,
            f"HTTP 429: {RUN_OUT} (https://serpapi.com/account.json?api_key={BLANKED}){OUT_HINT}",
        ),
    ),
    Answer(
        "key-echoed-percent-encoded",
        error(f"Invalid API key {ODD_QUOTED}"),
        status=401,
        config={"api_key": ODD_KEY},
        failure=Failure(Reason.AUTH, f"HTTP 401: Invalid API key {BLANKED}"),
    ),
    Answer(
        "key-echoed-percent-encoded-lower-case",
        error(f"Invalid API key {ODD_QUOTED.lower()}"),
        status=401,
        config={"api_key": ODD_KEY},
        failure=Failure(Reason.AUTH, f"HTTP 401: Invalid API key {BLANKED}"),
    ),
    Answer(
        "encoded-key-url-quoted-back",
        error(f"rejected {ODD_URL}"),
        status=400,
        config={"api_key": ODD_KEY},
        failure=Failure(
            Reason.CLIENT_ERROR,
            f"HTTP 400: rejected https://serpapi.com/account.json?api_key={BLANKED}",
        ),
    ),
    Answer(
        "encoded-key-echoed-as-it-is",
        error(f"Invalid API key {ODD_KEY}"),
        status=401,
        config={"api_key": ODD_KEY},
        failure=Failure(Reason.AUTH, f"HTTP 401: Invalid API key {BLANKED}"),
    ),
    # A success body that echoes the encoded key, and a figure that is not one.
    Answer(
        "encoded-key-success",
        account(api_key=ODD_KEY, total_searches_left=ODD_QUOTED),
        config={"api_key": ODD_KEY},
        failure=Failure(
            Reason.INVALID_RESPONSE, f"total_searches_left is not a plain number: '{BLANKED}'"
        ),
    ),
    *(
        Answer(f"wrong-shape-{index}", body, failure=Failure(Reason.INVALID_RESPONSE))
        for index, body in enumerate(
            [
                {"account": {"total_searches_left": 5958}},
                {"total_searches_left": "5958 searches"},
                {"total_searches_left": [5958]},
                [account()],
            ]
        )
    ),
]

# Keys whose encoded forms are hard to blank: the key's own leading piece matches the start of
# its percent-encoded form (so every form is blanked in one pass, longest first); and aiohttp
# sends (and quotes) the URL as yarl normalises it, with / ? : @ $ , decoded, a form neither
# the key's text nor quote(key) is. Real SerpApi keys are 64 hex digits, which no encoding
# changes.
LATE_KEY = "KEY0canary+9f8e=7d6c&5b4a 3210" + "0a1b2c3d4e5f6789" * 2
SLASH_KEY = "KEY0canary/9f8e+7d6c:5b4a@3210" + "0a1b2c3d4e5f6789" * 2
HARD_TO_BLANK = [
    Answer(
        "key-encoded-after-its-first-8-characters",
        error(f"Invalid API key {quote(LATE_KEY, safe='')}"),
        status=401,
        config={"api_key": LATE_KEY},
        failure=Failure(Reason.AUTH, f"HTTP 401: Invalid API key {BLANKED}"),
    ),
    Answer(
        "url-quoted-back-as-sent",
        error(f"rejected {URL('https://serpapi.com/account.json?api_key=' + quote(SLASH_KEY))}"),
        status=401,
        config={"api_key": SLASH_KEY},
        failure=Failure(
            Reason.AUTH, f"HTTP 401: rejected https://serpapi.com/account.json?api_key={BLANKED}"
        ),
    ),
]


def sim_fault(fault: str, retry_after: str = "30") -> SimAccount:
    return replace(APIS[""].sim_account, fault=fault, retry_after=retry_after)


def sim_body(left: Any, *, plan: bool = True, used: int | None = None) -> dict[str, Any]:
    """The simulator's body for the case account, written out."""
    return {
        "account_id": account_id_for(SIM_KEY),
        "api_key": SIM_KEY,
        "account_email": "demo@serpapi.com",
        "account_status": "Active",
        "plan_id": "bigdata" if plan else "none",
        "plan_name": "Big Data Plan" if plan else "No plan",
        "plan_monthly_price": 250.0 if plan else 0.0,
        "plan_renewal_date": "2027-01-01" if plan else None,
        "searches_per_month": 30000 if plan else 0,
        "plan_searches_left": left if plan else 0,
        "extra_credits": 0 if plan else left,
        "total_searches_left": left,
        "this_month_usage": (30000 - int(left) if plan else 0) if used is None else used,
        "this_hour_searches": 87,
        "last_hour_searches": 42,
        "account_rate_limit_per_hour": 6000,
    }


THROTTLED = error(
    "The number of requests sent using this API key exceeds the hourly throughput limit."
)
SIM_401 = error(INVALID_KEY)

SIM_ANSWERS = [
    SimAnswer("healthy", APIS[""].sim_account, 200, sim_body(5958), served=True),
    SimAnswer(
        "credits-only",
        replace(APIS[""].sim_account, state="credits-only", balance=Decimal(750)),
        200,
        sim_body(750, plan=False),
        served=True,
    ),
    SimAnswer(
        "none-left",
        replace(APIS[""].sim_account, balance=Decimal(0)),
        200,
        sim_body(0),
        served=True,
    ),
    # Searches stop at none.
    SimAnswer(
        "below-zero-is-none-left",
        replace(APIS[""].sim_account, balance=Decimal("-12.5")),
        200,
        sim_body(0),
        served=True,
    ),
    # Only the shared suites set a fraction: it goes out exact, to be read exactly.
    SimAnswer(
        "fraction-goes-out-exact",
        replace(APIS[""].sim_account, balance=Decimal("100.25")),
        200,
        sim_body(100.25, used=29900),
        served=True,
    ),
    SimAnswer(
        "out-of-searches",
        replace(APIS[""].sim_account, state="out-of-searches"),
        429,
        error(RUN_OUT),
        absent=("Retry-After",),
    ),
    # The key must come in the query string, the documented way.
    SimAnswer(
        "wrong-key",
        APIS[""].sim_account,
        401,
        SIM_401,
        request=("/account.json?api_key=wrong-key", ACCEPT),
    ),
    SimAnswer("no-key", APIS[""].sim_account, 401, SIM_401, request=("/account.json", ACCEPT)),
    SimAnswer(
        "key-in-a-header",
        APIS[""].sim_account,
        401,
        SIM_401,
        request=("/account.json", {"Authorization": f"Bearer {SIM_KEY}"}),
    ),
    SimAnswer(
        "key-under-another-name",
        APIS[""].sim_account,
        401,
        SIM_401,
        request=(f"/account.json?key={SIM_KEY}", ACCEPT),
    ),
    SimAnswer("401", sim_fault("401"), 401, SIM_401),
    SimAnswer(
        "403",
        sim_fault("403"),
        403,
        error(
            "The account associated with this API key doesn't have permission to perform the"
            " request."
        ),
    ),
    SimAnswer("500", sim_fault("500"), 500, error("Something went wrong on SerpApi's end.")),
    SimAnswer(
        "503-retry-after",
        sim_fault("503-retry-after", retry_after="120"),
        503,
        error("Something went wrong on SerpApi's end."),
        headers={"Retry-After": "120"},
    ),
    SimAnswer(
        "429-seconds",
        sim_fault("429-seconds", retry_after="37"),
        429,
        THROTTLED,
        headers={"Retry-After": "37"},
    ),
    # What the docs describe: no wait header at all.
    SimAnswer("429-bare", sim_fault("429-bare"), 429, THROTTLED, absent=("Retry-After",)),
    *(
        SimAnswer(
            fault,
            sim_fault(fault),
            200,
            {
                **sim_body(0),
                "account_id": account_id_for("serpapi-amount"),
                "api_key": "serpapi-amount",
                "this_month_usage": 0,
                "plan_searches_left": value,
                "total_searches_left": value,
            },
        )
        for fault, value in (("nan", "NaN"), ("infinity", "Infinity"), ("thousands", "1,000.00"))
    ),
]


test_answer, test_simulator_answer = table_tests(PROVIDER, APIS, ANSWERS, SIM_ANSWERS)


# --- what does not fit a row --------------------------------------------------------------------


@pytest.mark.parametrize("answer", HARD_TO_BLANK, ids=ids(HARD_TO_BLANK))
async def test_keys_hard_to_blank_are_blanked(
    answer: Answer, http: Any, session: aiohttp.ClientSession
) -> None:
    await check_answer(PROVIDER, APIS, answer, http, session)


@pytest.mark.parametrize(
    ("key", "url"),
    [
        (API_KEY, URL_TEXT),
        (ODD_KEY, ODD_URL),
        ("a" * 64, "https://serpapi.com/account.json?api_key=" + "a" * 64),  # a real key's shape
    ],
    ids=["canary", "encoded", "hex"],
)
async def test_request_sent(key: str, url: str, http: Any, session: aiohttp.ClientSession) -> None:
    adapter_ = provider_for(PROVIDER, APIS[""], api_key=key)
    assert adapter_.request().url == url  # the key encoded exactly as the redaction knows it
    mock_answer(http, url, account(api_key=key))

    assert await read(adapter_, session) == searches(5958, provider_account_id=ACCOUNT_ID)
    sent_url, headers = only_request(http)
    assert URL(sent_url).query["api_key"] == key
    assert headers == {"User-Agent": USER_AGENT, **ACCEPT}  # no credential in a header


# A network error whose text quotes the URL: a proxy's refusal, aiohttp's own URL error.
NETWORK_ERRORS = [
    ("proxy-quotes-the-url", API_KEY, lambda url: aiohttp.ClientConnectionError(f"proxy: {url}")),
    ("invalid-url-error", API_KEY, lambda url: aiohttp.InvalidUrlClientError(url)),
    (
        "proxy-quotes-the-encoded-url",
        ODD_KEY,
        lambda url: aiohttp.ClientConnectionError(f"proxy: {url}"),
    ),
    (
        "proxy-quotes-the-url-as-yarl-renders-it",
        ODD_KEY,
        lambda url: aiohttp.ClientConnectionError(f"proxy: {URL(url)}"),
    ),
]


@pytest.mark.parametrize(
    ("key", "raise_for"),
    [(key, raise_for) for _, key, raise_for in NETWORK_ERRORS],
    ids=[case_id for case_id, _, _ in NETWORK_ERRORS],
)
async def test_network_error_quoting_the_url_never_shows_the_key(
    key: str, raise_for: Any, http: Any, session: aiohttp.ClientSession
) -> None:
    adapter_ = provider_for(PROVIDER, APIS[""], api_key=key)
    url = adapter_.request().url
    http.get(url, exception=raise_for(url))

    failure = await fail(adapter_, session)

    assert_failure(failure, Failure(Reason.NETWORK, contains=(f"api_key={BLANKED}",)))
    assert failure.message.endswith(f"https://serpapi.com/account.json?api_key={BLANKED}")
    assert_no_secret(failure, adapter_)


@pytest.mark.parametrize(
    "account_",
    [
        APIS[""].sim_account,
        replace(APIS[""].sim_account, state="credits-only", balance=Decimal(750)),
        *(demo for demo, _ in SIMULATED[PROVIDER].demo_accounts().values()),
    ],
    ids=["case-account", "credits-only", "demo-main", "demo-credits"],
)
async def test_the_exporter_shows_what_the_simulator_says(
    account_: SimAccount, session: aiohttp.ClientSession
) -> None:
    # The adapter polls the simulator itself, with the simulator's own config keys.
    simulated = replace(account_, scenario=None)
    simulator = Simulator(clock=SimClock())
    simulator.add("case", simulated)
    client = TestClient(TestServer(simulator.app()))
    await client.start_server()
    sim = SIMULATED[PROVIDER]
    try:
        keys = {k: v for k, v in sim.config_settings(simulated).items() if k != "provider"}
        api = replace(APIS[""], config=keys)
        reading = await read(
            provider_for(PROVIDER, api, base_url=str(client.make_url(""))), session
        )
    finally:
        simulator.release.set()
        await client.close()
    assert simulated.served is not None
    shown = sim.shown(simulated, simulated.served)
    assert reading.currency == shown.currency
    assert {"balance": reading.balance} == shown.money
    expected_reset = shown.other.get("quota_reset_timestamp_seconds")
    assert reading.quota_reset == expected_reset
    assert reading.provider_account_id == sim.account_id(simulated)


async def test_out_of_searches_from_the_simulator_is_a_client_error(
    session: aiohttp.ClientSession,
) -> None:
    simulator = Simulator(clock=SimClock())
    simulator.add("case", replace(APIS[""].sim_account, state="out-of-searches"))
    client = TestClient(TestServer(simulator.app()))
    await client.start_server()
    try:
        api = replace(APIS[""], config={"api_key": SIM_KEY})
        failure = await fail(
            provider_for(PROVIDER, api, base_url=str(client.make_url(""))), session
        )
    finally:
        simulator.release.set()
        await client.close()
    assert_failure(failure, Failure(Reason.CLIENT_ERROR, f"HTTP 429: {RUN_OUT}{OUT_HINT}"))


def test_the_issues_figures_from_the_demo() -> None:
    demo, _ = SIMULATED[PROVIDER].demo_accounts()["serpapi-main"]
    shown = SIMULATED[PROVIDER].shown(demo, demo.balance)
    assert (shown.currency, shown.money) == ("searches", {"balance": Decimal(5958)})
    assert shown.other == {"quota_reset_timestamp_seconds": midnight("2027-01-01")}
