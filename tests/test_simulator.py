"""The simulated providers: documented paths and auth, states, faults, rate limits, scenarios,
request counting and the control interface, driven over HTTP on an injected clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import encode_basic_auth, web
from aiohttp.test_utils import TestClient, TestServer
from fakeclock import wait_until
from multidict import CIMultiDict

from balance_exporter.simulator import FAULTS, RateLimit, SimAccount, Simulator
from balance_exporter.simulator import responses as say
from balance_exporter.simulator.accounts import PROVIDERS
from balance_exporter.simulator.scenarios import (
    DegradedAtTimes,
    DrainAndTopUp,
    RateLimitBursts,
    ReadyAfter,
)

SID = "AC0123456789abcdef0123456789abcdef"
SUB_SID = "ACfedcba9876543210fedcba9876543210"
API_KEY_SID = "SK0123456789abcdef0123456789abcdef"
OTHER_SID = "AC00000000000000000000000000000000"
CANARY = "canary-Qm47-do-not-leak"
START = 1000.0  # what the injected clock reads when the simulator's app is built
WALL = 1_771_000_000.0  # the wall clock HTTP dates are written from: 2026-02-13T16:26:40Z
GATEWAY_HEADERS = ("X-Sms-Gateway-Status", "X-Sms-Gateway-Reason")

Client = TestClient[web.Request, web.Application]


class Clock:
    """A clock that reads whatever the test sets."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def accounts() -> dict[str, SimAccount]:
    """One account per provider, named after the provider."""
    return {
        "telnyx": SimAccount(
            "telnyx",
            f"telnyx-{CANARY}",
            balance=Decimal("300.00"),
            credit_limit=Decimal("100.00"),
            pending=Decimal("10.00"),
        ),
        "twilio": SimAccount(
            "twilio",
            f"twilio-{CANARY}",
            balance=Decimal("0.05"),
            account_sid=SID,
            api_key_sid=API_KEY_SID,
        ),
        "clickatell": SimAccount("clickatell", f"ck-{CANARY}", balance=Decimal("300.50")),
        "clickatell-platform": SimAccount(
            "clickatell-platform", f"ckp-{CANARY}", balance=Decimal("1267.92865"), currency="ZAR"
        ),
        "youcom": SimAccount(
            "youcom", f"yc-{CANARY}", balance=Decimal("7189.245"), entity_id="ent_9f2c"
        ),
        "23telecom": SimAccount(
            "23telecom", f"t23-{CANARY}", balance=Decimal("1250.50"), currency="EUR"
        ),
    }


def documented_request(account: SimAccount) -> tuple[str, dict[str, str]]:
    """The path and headers each provider's documentation asks for."""
    key = account.key
    if account.provider == "telnyx":
        return "/v2/balance", {"Authorization": f"Bearer {key}"}
    if account.provider == "twilio":
        sid = str(account.account_sid)
        return (
            f"/2010-04-01/Accounts/{sid}/Balance.json",
            {"Authorization": encode_basic_auth(sid, key)},
        )
    if account.provider == "clickatell":
        return "/rest/account/balance", {
            "X-Version": "1",
            "Authorization": f"Bearer {key}",
            "Accept": "application/json",
        }
    if account.provider == "clickatell-platform":
        return "/public-client/balance", {"Authorization": key}
    if account.provider == "youcom":
        return "/v1/billing/account_balance", {"X-API-Key": key}
    assert account.provider == "23telecom"
    return "/api/v1/user/balance", {"X-API-Key": key}


@dataclass
class Sim:
    simulator: Simulator
    clock: Clock
    client: Client

    def account(self, name: str) -> SimAccount:
        return self.simulator.accounts[name]

    async def call(self, name: str) -> tuple[int, CIMultiDict[str], bytes]:
        """One documented request for account ``name``: status, headers and body."""
        path, headers = documented_request(self.account(name))
        async with self.client.get(path, headers=headers) as response:
            return response.status, CIMultiDict(response.headers), await response.read()

    async def json(self, name: str) -> tuple[int, Any]:
        status, _, body = await self.call(name)
        return status, json.loads(body)

    async def control(self, name: str, change: Any) -> tuple[int, str]:
        async with self.client.post(f"/-/sim/accounts/{name}", json=change) as response:
            return response.status, await response.text()

    async def listing(self) -> Any:
        async with self.client.get("/-/sim/accounts") as response:
            assert response.status == 200
            return await response.json()


async def start(
    simulator: Simulator, clock: Clock, extra: dict[str, SimAccount] | None = None
) -> AsyncIterator[Sim]:
    for name, account in {**accounts(), **(extra or {})}.items():
        simulator.add(name, account)
    async with TestClient(TestServer(simulator.app())) as client:
        yield Sim(simulator, clock, client)
        simulator.release.set()


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    clock = Clock()
    simulator = Simulator(
        clock=clock, wall_clock=lambda: WALL, rate_limit=RateLimit(requests=1000, window=60.0)
    )
    async for running in start(simulator, clock):
        yield running


def gateway(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: headers[name] for name in GATEWAY_HEADERS if name in headers}


# --- documented requests and answers ------------------------------------------------------------

HEALTHY: dict[str, Any] = {
    "telnyx": {
        "data": {
            "record_type": "balance",
            "balance": "300.00",
            "credit_limit": "100.00",
            "available_credit": "400.00",
            "currency": "USD",
            "pending": "10.00",
        }
    },
    "twilio": {"account_sid": SID, "balance": "0.05", "currency": "USD"},
    "clickatell": {"data": {"balance": "300.50"}},
    "clickatell-platform": {"balance": 1267.92865, "currency": "ZAR"},
    "youcom": {"data": {"type": "account", "id": "ent_9f2c", "attributes": {"balance": 718924.5}}},
    "23telecom": {"balance": 1250.5, "currency": "EUR", "updated": "2026.02.13 10:15:00"},
}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_documented_request_gets_the_documented_answer(sim: Sim, provider: str) -> None:
    status, headers, body = await sim.call(provider)
    assert status == 200
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body) == HEALTHY[provider]
    assert gateway(headers) == {}  # absent on healthy answers
    assert sim.simulator.requests == {provider: 1}
    assert sim.account(provider).served == sim.account(provider).balance


async def test_telnyx_without_figures_it_was_not_given(sim: Sim) -> None:
    account = sim.account("telnyx")
    account.credit_limit, account.pending, account.balance = None, None, Decimal("-12.5")
    assert await sim.json("telnyx") == (
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
    )


async def test_twilio_accepts_an_api_key_standing_for_the_account(sim: Sim) -> None:
    path = f"/2010-04-01/Accounts/{SID}/Balance.json"
    auth = encode_basic_auth(API_KEY_SID, f"twilio-{CANARY}")
    async with sim.client.get(path, headers={"Authorization": auth}) as response:
        assert (response.status, await response.json()) == (200, HEALTHY["twilio"])
    assert sim.simulator.requests == {"twilio": 1}


async def test_clickatell_rest_answers_xml_to_an_xml_request(sim: Sim) -> None:
    headers = {
        "X-Version": "1",
        "Authorization": f"Bearer ck-{CANARY}",
        "Accept": "application/xml",
    }
    async with sim.client.get("/rest/account/balance", headers=headers) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
        assert await response.text() == (
            '<?xml version="1.0"?>\n<response>\n    <data>\n'
            "        <balance>300.50</balance>\n    </data>\n</response>\n"
        )


# --- credentials --------------------------------------------------------------------------------

UNAUTHORIZED: dict[str, Any] = {
    "telnyx": {
        "errors": [
            {
                "code": "10009",
                "title": "Authentication failed",
                "detail": "Could not understand the provided credentials.",
            }
        ]
    },
    "twilio": {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    },
    "clickatell": {
        "error": {"code": "001", "description": "Authentication failed", "documentation": ""}
    },
    "clickatell-platform": {
        "error": {"code": 1, "description": "Authentication failed", "documentation": ""}
    },
    "youcom": {"detail": "Invalid or missing API key"},
    "23telecom": {
        "status": False,
        "error_code": "INVALID_API_KEY",
        "description": "Invalid API key",
    },
}

TWILIO_PATH = f"/2010-04-01/Accounts/{SID}/Balance.json"
TOKEN = f"twilio-{CANARY}"

# Requests that miss: a wrong key, or the right key presented otherwise than documented.
WRONG_CREDENTIALS: list[tuple[str, str, dict[str, str]]] = [
    ("telnyx", "/v2/balance", {"Authorization": "Bearer wrong-key"}),
    ("telnyx", "/v2/balance", {"Authorization": f"telnyx-{CANARY}"}),
    ("telnyx", "/v2/balance", {"X-API-Key": f"telnyx-{CANARY}"}),
    ("telnyx", "/v2/balance", {}),
    ("twilio", TWILIO_PATH, {"Authorization": encode_basic_auth(SID, "wrong-token")}),
    ("twilio", TWILIO_PATH, {"Authorization": encode_basic_auth(OTHER_SID, TOKEN)}),
    (
        "twilio",
        f"/2010-04-01/Accounts/{OTHER_SID}/Balance.json",
        {"Authorization": encode_basic_auth(OTHER_SID, TOKEN)},
    ),
    ("twilio", TWILIO_PATH, {"Authorization": f"Bearer {TOKEN}"}),
    ("twilio", TWILIO_PATH, {}),
    (
        "clickatell",
        "/rest/account/balance",
        {"X-Version": "1", "Authorization": "Bearer wrong", "Accept": "application/json"},
    ),
    (
        "clickatell",
        "/rest/account/balance",
        {"Authorization": f"Bearer ck-{CANARY}", "Accept": "application/json"},
    ),
    (
        "clickatell",
        "/rest/account/balance",
        {"X-Version": "1", "Authorization": f"ck-{CANARY}", "Accept": "application/json"},
    ),
    ("clickatell-platform", "/public-client/balance", {"Authorization": "wrong"}),
    ("clickatell-platform", "/public-client/balance", {"Authorization": f"Bearer ckp-{CANARY}"}),
    ("youcom", "/v1/billing/account_balance", {"X-API-Key": "wrong"}),
    ("youcom", "/v1/billing/account_balance", {"Authorization": f"Bearer yc-{CANARY}"}),
    ("23telecom", "/api/v1/user/balance", {"X-API-Key": "wrong"}),
    ("23telecom", "/api/v1/user/balance", {"Authorization": f"Bearer t23-{CANARY}"}),
]


@pytest.mark.parametrize(
    ("provider", "path", "headers"),
    WRONG_CREDENTIALS,
    ids=[f"{case[0]}-{i}" for i, case in enumerate(WRONG_CREDENTIALS)],
)
async def test_wrong_credentials_get_the_providers_own_401(
    sim: Sim, provider: str, path: str, headers: dict[str, str]
) -> None:
    async with sim.client.get(path, headers=headers) as response:
        assert response.status == 401
        assert await response.json() == UNAUTHORIZED[provider]
    assert sim.simulator.requests == {}  # nobody's account was asked


# --- states -------------------------------------------------------------------------------------


async def test_23telecom_setup_is_a_200_without_a_balance(sim: Sim) -> None:
    sim.account("23telecom").state = "setup"
    status, headers, body = await sim.call("23telecom")
    assert status == 200
    assert json.loads(body) == {"status": False, "error": "Account is in setup process"}
    assert gateway(headers) == {}
    assert sim.account("23telecom").served is None


@pytest.mark.parametrize(
    ("state", "body", "headers"),
    [
        (
            "degraded",
            {"balance": 0, "currency": "EUR", "unavailable": True, "reason": "cache_disabled"},
            {"X-Sms-Gateway-Status": "unavailable", "X-Sms-Gateway-Reason": "cache_disabled"},
        ),
        (
            "degraded-header",
            {
                "balance": 0,
                "currency": "EUR",
                "updated": "2026.02.13 10:15:00",
                "credit_blocked": True,
            },
            {
                "X-Sms-Gateway-Status": "partial",
                "X-Sms-Gateway-Reason": "cache_miss_refresh_failed",
            },
        ),
    ],
)
async def test_23telecom_degraded_answers_zero_and_says_so(
    sim: Sim, state: str, body: dict[str, Any], headers: dict[str, str]
) -> None:
    assert (await sim.call("23telecom"))[0] == 200
    sim.account("23telecom").state = state
    status, got_headers, got_body = await sim.call("23telecom")
    assert (status, json.loads(got_body), gateway(got_headers)) == (200, body, headers)
    # A degraded zero is not a trustworthy answer: what was served before stays.
    assert sim.account("23telecom").served == Decimal("1250.50")


@pytest.mark.parametrize(("balance", "blocked"), [("0", True), ("-3.5", True), ("0.01", False)])
async def test_23telecom_blocks_credit_at_zero_or_below(
    sim: Sim, balance: str, blocked: bool
) -> None:
    sim.account("23telecom").balance = Decimal(balance)
    status, body = await sim.json("23telecom")
    expected: dict[str, Any] = {
        "balance": float(balance),
        "currency": "EUR",
        "updated": "2026.02.13 10:15:00",
    }
    if blocked:
        expected["credit_blocked"] = True
    assert (status, body) == (200, expected)
    assert sim.account("23telecom").served == Decimal(balance)


async def test_twilio_subaccount_has_a_null_balance(sim: Sim) -> None:
    sim.account("twilio").state = "subaccount"
    assert await sim.json("twilio") == (
        200,
        {"account_sid": SID, "balance": None, "currency": None},
    )
    assert sim.account("twilio").served is None


async def test_twilio_subaccount_404_names_the_resource(sim: Sim) -> None:
    sim.account("twilio").state = "subaccount-404"
    assert await sim.json("twilio") == (
        404,
        {
            "code": 20404,
            "message": f"The requested resource {TWILIO_PATH} was not found",
            "more_info": "https://www.twilio.com/docs/errors/20404",
            "status": 404,
        },
    )
    assert sim.account("twilio").served is None


# --- faults -------------------------------------------------------------------------------------

FORBIDDEN: dict[str, Any] = {
    "telnyx": {
        "errors": [
            {
                "code": "10010",
                "title": "Authorization failed",
                "detail": "Insufficient permissions to access balance information",
            }
        ]
    },
    "twilio": {
        "code": 20003,
        "message": "Permission Denied",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 403,
    },
    "clickatell": {
        "error": {"code": "007", "description": "IP Lockdown violation", "documentation": ""}
    },
    "clickatell-platform": {"error": {"code": 7, "description": "Forbidden", "documentation": ""}},
    "youcom": {"detail": "Forbidden. API key lacks scope for this path."},
    "23telecom": {
        "status": False,
        "error_code": "PERMISSION_DENIED",
        "description": "The key lacks the balance.read permission",
    },
}


def server_error(status: int) -> dict[str, Any]:
    return {
        "telnyx": {
            "errors": [
                {
                    "code": "10007",
                    "title": "Unexpected error",
                    "detail": "An unexpected error occurred.",
                }
            ]
        },
        "twilio": {
            "code": 20500,
            "message": "Internal Server Error",
            "more_info": "https://www.twilio.com/docs/errors/20500",
            "status": status,
        },
        "clickatell": {
            "error": {"code": "999", "description": "Internal error", "documentation": ""}
        },
        "clickatell-platform": {
            "error": {"code": 999, "description": "Internal error", "documentation": ""}
        },
        "youcom": {"detail": "Internal Server Error"},
        "23telecom": {
            "status": False,
            "error_code": "INTERNAL_ERROR",
            "description": "Internal error",
        },
    }


# (status, JSON body or None for the HTML/empty answer) of each provider's "too many requests".
RATE_LIMITED: dict[str, tuple[int, Any]] = {
    "telnyx": (
        429,
        {
            "errors": [
                {"code": "10011", "title": "Too many requests", "detail": "Rate limit exceeded"}
            ]
        },
    ),
    "twilio": (
        429,
        {
            "code": 20429,
            "message": "Too Many Requests",
            "more_info": "https://www.twilio.com/docs/errors/20429",
            "status": 429,
        },
    ),
    "clickatell": (
        429,
        {"error": {"code": "044", "description": "Too many requests", "documentation": ""}},
    ),
    "clickatell-platform": (
        400,
        {"error": {"code": 43, "description": "Rate limit exceeded", "documentation": ""}},
    ),
    "youcom": (429, {"detail": "Too many requests"}),
    "23telecom": (429, None),
}

HEALTHY_BALANCES = {name: account.balance for name, account in accounts().items()}
AMOUNTS = {"nan": "NaN", "infinity": "Infinity", "thousands": "1,000.00"}


def with_amount(provider: str, value: str) -> Any:
    return {
        "telnyx": {"data": {"balance": value, "currency": "USD"}},
        "twilio": {"balance": value, "currency": "USD", "account_sid": None},
        "clickatell": {"data": {"balance": value}},
        "clickatell-platform": {"balance": value, "currency": "ZAR"},
        "youcom": {"data": {"type": "account", "id": "x", "attributes": {"balance": value}}},
        "23telecom": {"balance": value, "currency": "EUR"},
    }[provider]


def expected_fault(provider: str, fault: str) -> tuple[int, dict[str, str], str, bytes | Any]:
    """status, headers that must be there, content type, and the JSON body (or raw bytes)."""
    json_type = "application/json; charset=utf-8"
    if fault == "500":
        return 500, {}, json_type, server_error(500)[provider]
    if fault == "503-retry-after":
        return 503, {"Retry-After": "30"}, json_type, server_error(503)[provider]
    if fault == "502-html":
        return 502, {}, "text/html; charset=utf-8", say.HTML_502.encode()
    if fault == "401":
        return 401, {}, json_type, UNAUTHORIZED[provider]
    if fault == "403":
        return 403, {}, json_type, FORBIDDEN[provider]
    if fault in ("429-seconds", "429-date", "429-bare"):
        status, body = RATE_LIMITED[provider]
        headers: dict[str, str] = {}
        if fault != "429-bare":
            when = "30" if fault == "429-seconds" else "Fri, 13 Feb 2026 16:27:10 GMT"
            headers["Retry-After"] = when
            if provider == "telnyx":
                headers["x-ratelimit-reset"] = "30"
        if body is not None:
            return status, headers, json_type, body
        if fault == "429-bare":  # 23 Telecom: no body at all
            return status, headers, "application/octet-stream", b""
        return status, headers, "text/html; charset=utf-8", say.HTML_429.encode()
    if fault == "malformed-json":
        return 200, {}, "application/json; charset=utf-8", b'{"data": {"balance": '
    if fault == "wrong-shape":
        return 200, {}, json_type, {"result": ["unexpected"]}
    assert fault in AMOUNTS
    return 200, {}, json_type, with_amount(provider, AMOUNTS[fault])


# The faults that answer at once and whole; the others have tests of their own below.
ANSWERING_FAULTS = tuple(
    fault for fault in FAULTS if fault not in ("hang", "reset", "huge-body", "drip")
)


def test_the_fault_list_is_the_one_tested_here() -> None:
    assert set(FAULTS) == {*ANSWERING_FAULTS, "hang", "reset", "huge-body", "drip"}
    assert len(FAULTS) == 17


@pytest.mark.parametrize("fault", ANSWERING_FAULTS)
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_fault_answers_in_the_providers_own_way(sim: Sim, provider: str, fault: str) -> None:
    assert (await sim.call(provider))[0] == 200
    sim.account(provider).fault = fault
    sim.account(provider).balance = Decimal("1.00")
    status, headers, body = await sim.call(provider)
    want_status, want_headers, content_type, want_body = expected_fault(provider, fault)
    assert status == want_status
    assert {name: headers[name] for name in want_headers if name in headers} == want_headers
    if "Retry-After" not in want_headers:
        assert "Retry-After" not in headers
    if provider == "telnyx" and "x-ratelimit-reset" not in want_headers:
        assert "x-ratelimit-reset" not in headers
    assert headers.get("Content-Type", "application/octet-stream") == content_type
    if isinstance(want_body, bytes):
        assert body == want_body
    else:
        assert json.loads(body) == want_body
    # Counted, and no fault is a trustworthy answer.
    assert sim.simulator.requests == {provider: 2}
    assert sim.account(provider).served == HEALTHY_BALANCES[provider]


async def test_malformed_json_does_not_parse(sim: Sim) -> None:
    sim.account("youcom").fault = "malformed-json"
    _, _, body = await sim.call("youcom")
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


@pytest.mark.parametrize("seconds", ["0", "120"])
async def test_retry_after_is_what_the_account_asks_for(sim: Sim, seconds: str) -> None:
    status, text = await sim.control("twilio", {"fault": "503-retry-after", "retry_after": seconds})
    assert (status, json.loads(text)["retry_after"]) == (200, seconds)
    status, headers, _ = await sim.call("twilio")
    assert (status, headers["Retry-After"]) == (503, seconds)

    status, text = await sim.control("telnyx", {"fault": "429-seconds", "retry_after": seconds})
    assert (status, json.loads(text)["retry_after"]) == (200, seconds)
    status, headers, _ = await sim.call("telnyx")
    assert (status, headers["Retry-After"], headers["x-ratelimit-reset"]) == (429, seconds, seconds)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_huge_body_is_over_a_mebibyte(sim: Sim, provider: str) -> None:
    sim.account(provider).fault = "huge-body"
    status, headers, body = await sim.call(provider)
    assert (status, headers["Content-Type"]) == (200, "application/json")
    assert len(body) == 1024 * 1024 + 12
    assert json.loads(body) == {}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_reset_cuts_the_body_short(sim: Sim, provider: str) -> None:
    sim.account(provider).fault = "reset"
    path, headers = documented_request(sim.account(provider))
    response = await sim.client.get(path, headers=headers)
    assert (response.status, response.headers["Content-Length"]) == (200, "500")
    with pytest.raises(aiohttp.ClientPayloadError):
        await response.read()
    response.release()
    assert sim.simulator.requests == {provider: 1}


async def test_drip_sends_a_body_one_byte_at_a_time(sim: Sim) -> None:
    sim.account("telnyx").fault = "drip"
    path, headers = documented_request(sim.account("telnyx"))
    async with sim.client.get(path, headers=headers) as response:
        assert (response.status, response.headers["Content-Type"]) == (200, "application/json")
        assert await response.content.readexactly(2) == b"  "
        assert not response.content.at_eof()


async def test_release_ends_every_hung_request(sim: Sim) -> None:
    sim.account("telnyx").fault = "hang"
    sim.account("youcom").fault = "hang"
    first = sim.simulator.release

    async def fetch(name: str) -> tuple[int, str]:
        status, _, body = await sim.call(name)
        return status, body.decode()

    hung = [asyncio.create_task(fetch(name)) for name in ("telnyx", "youcom")]
    await wait_until(
        lambda: sim.simulator.requests == {"telnyx": 1, "youcom": 1}, what="both requests hung"
    )
    # The other accounts still answer while two hang.
    assert (await sim.call("twilio"))[0] == 200
    assert not any(task.done() for task in hung)

    async with sim.client.post("/-/sim/release") as response:
        assert (response.status, await response.text()) == (200, "released\n")
    async with asyncio.timeout(5):
        assert await asyncio.gather(*hung) == [(504, "released"), (504, "released")]
    # A fresh event waits for the next release.
    assert first.is_set()
    assert not sim.simulator.release.is_set()


# --- the rate limiter ---------------------------------------------------------------------------


@pytest.fixture
async def limited() -> AsyncIterator[Sim]:
    clock = Clock()
    simulator = Simulator(clock=clock, rate_limit=RateLimit(requests=3, window=60.0))
    extra = {"telnyx-2": SimAccount("telnyx", "second-telnyx-key")}
    async for running in start(simulator, clock, extra):
        yield running


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_rate_limit_answers_the_providers_way_and_counts_down(
    limited: Sim, provider: str
) -> None:
    async def limited_answer() -> tuple[int, str, str | None, Any]:
        status, headers, body = await limited.call(provider)
        decoded = (
            json.loads(body) if headers["Content-Type"].startswith("application/json") else body
        )
        return status, headers["Retry-After"], headers.get("x-ratelimit-reset"), decoded

    want_status, want_body = RATE_LIMITED[provider]
    if want_body is None:  # 23 Telecom's edge answers in HTML
        want_body = say.HTML_429.encode()

    def reset(seconds: str) -> str | None:  # Telnyx also says when its window resets
        return seconds if provider == "telnyx" else None

    limited.clock.now = START + 0.0
    assert [(await limited.call(provider))[0] for _ in range(2)] == [200, 200]
    limited.clock.now = START + 10.0
    assert (await limited.call(provider))[0] == 200
    # Three in the window: the fourth waits until the first leaves it, 60 s after it came.
    assert await limited_answer() == (want_status, "50", reset("50"), want_body)
    limited.clock.now = START + 15.5
    assert await limited_answer() == (want_status, "45", reset("45"), want_body)
    limited.clock.now = START + 59.9
    assert await limited_answer() == (want_status, "1", reset("1"), want_body)
    # The two first requests leave the window together; the third (t=10) still holds its slot.
    limited.clock.now = START + 60.0
    assert [(await limited.call(provider))[0] for _ in range(2)] == [200, 200]
    assert await limited_answer() == (want_status, "10", reset("10"), want_body)
    # Every request was counted, refused ones too; a refusal is not a trustworthy answer.
    assert limited.simulator.requests == {provider: 9}
    limited.account(provider).balance = Decimal("5")
    assert (await limited_answer())[0] == want_status
    assert limited.account(provider).served == HEALTHY_BALANCES[provider]


async def test_rate_limit_is_per_account(limited: Sim) -> None:
    for _ in range(3):
        assert (await limited.call("telnyx"))[0] == 200
    assert (await limited.call("telnyx"))[0] == 429
    assert (await limited.call("telnyx-2"))[0] == 200
    assert limited.simulator.requests == {"telnyx": 4, "telnyx-2": 1}


# --- scenarios ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("elapsed", "balance"),
    [
        (0.0, "100.00"),
        (59.9, "70.50"),
        (60.0, "70.00"),
        (120.0, "40.00"),
        (179.0, "10.50"),
        (180.0, "100.00"),  # would pass the floor: topped up
        (200.0, "90.00"),
    ],
)
def test_drain_and_top_up_is_a_function_of_elapsed_time(elapsed: float, balance: str) -> None:
    account = SimAccount("telnyx", "k", balance=Decimal("5"))
    scenario = DrainAndTopUp(top=Decimal("100"), floor=Decimal("10"), per_minute=Decimal("30"))
    scenario.apply(account, elapsed)
    assert account.balance == Decimal(balance)
    assert str(account.balance) == balance


@pytest.mark.parametrize(
    ("elapsed", "state"),
    [(0.0, "ok"), (9.9, "ok"), (10.0, "degraded"), (39.9, "degraded"), (40.0, "ok"),
     (109.9, "ok"), (110.0, "degraded"), (5.0, "ok")],
)  # fmt: skip
def test_degraded_at_times_is_a_function_of_elapsed_time(elapsed: float, state: str) -> None:
    account = SimAccount("23telecom", "k", state="setup")
    DegradedAtTimes(every=100.0, lasting=30.0, after=10.0).apply(account, elapsed)
    assert account.state == state


@pytest.mark.parametrize(("elapsed", "state"), [(0.0, "setup"), (29.9, "setup"), (30.0, "ok")])
def test_ready_after_is_a_function_of_elapsed_time(elapsed: float, state: str) -> None:
    account = SimAccount("23telecom", "k")
    ReadyAfter(seconds=30.0).apply(account, elapsed)
    assert account.state == state


@pytest.mark.parametrize(
    ("elapsed", "fault"),
    [(0.0, None), (4.9, None), (5.0, "429-seconds"), (14.9, "429-seconds"), (15.0, None),
     (65.0, "429-seconds"), (75.0, None)],
)  # fmt: skip
def test_rate_limit_bursts_are_a_function_of_elapsed_time(
    elapsed: float, fault: str | None
) -> None:
    account = SimAccount("telnyx", "k", fault="500")
    RateLimitBursts(every=60.0, lasting=10.0, after=5.0).apply(account, elapsed)
    assert account.fault == fault


def test_scenarios_depend_on_the_time_only_not_on_history() -> None:
    account = SimAccount("23telecom", "k")
    drain = DrainAndTopUp(top=Decimal("100"), floor=Decimal("10"), per_minute=Decimal("30"))
    burst = RateLimitBursts(every=60.0, lasting=10.0)
    degraded = DegradedAtTimes(every=100.0, lasting=30.0)
    seen = []
    for elapsed in (200.0, 60.0, 5.0, 60.0, 200.0):
        for scenario in (drain, burst, degraded):
            scenario.apply(account, elapsed)
        seen.append((str(account.balance), account.fault, account.state))
    assert seen == [
        ("90.00", None, "degraded"),
        ("70.00", "429-seconds", "ok"),
        ("97.50", "429-seconds", "degraded"),
        ("70.00", "429-seconds", "ok"),
        ("90.00", None, "degraded"),
    ]


async def test_scenarios_follow_the_injected_clock_from_the_app_build(sim: Sim) -> None:
    sim.account("telnyx").scenario = DrainAndTopUp(
        top=Decimal("100"), floor=Decimal("10"), per_minute=Decimal("30")
    )
    sim.account("23telecom").scenario = DegradedAtTimes(
        every=100.0, lasting=30.0, after=10.0, state="degraded-header"
    )
    sim.account("clickatell").scenario = RateLimitBursts(every=60.0, lasting=10.0, after=5.0)
    sim.simulator.add(
        "uk-new", SimAccount("23telecom", "ready-key", scenario=ReadyAfter(seconds=30.0))
    )

    async def story() -> tuple[str, str, int, Any]:
        _, telnyx = await sim.json("telnyx")
        _, headers, _ = await sim.call("23telecom")
        clickatell = (await sim.call("clickatell"))[0]
        _, ready = await sim.json("uk-new")
        status = headers.get("X-Sms-Gateway-Status", "healthy")
        return telnyx["data"]["balance"], status, clickatell, ready

    not_ready = {"status": False, "error": "Account is in setup process"}
    ready = {"balance": 100.0, "currency": "USD", "updated": "2026.02.13 10:15:00"}
    assert sim.simulator.elapsed() == 0.0
    assert await story() == ("100.00", "healthy", 200, not_ready)
    sim.clock.now = START + 5.0
    assert await story() == ("97.50", "healthy", 429, not_ready)
    sim.clock.now = START + 12.0
    assert await story() == ("94.00", "partial", 429, not_ready)
    sim.clock.now = START + 30.0
    assert await story() == ("85.00", "partial", 200, ready)
    sim.clock.now = START + 40.0
    assert await story() == ("80.00", "healthy", 200, ready)
    sim.clock.now = START + 180.0
    assert await story() == ("100.00", "healthy", 200, ready)
    assert sim.simulator.elapsed() == 180.0


async def test_a_stopped_scenario_leaves_the_account_as_it_is(sim: Sim) -> None:
    sim.account("23telecom").scenario = ReadyAfter(seconds=30.0)
    assert (await sim.listing())["23telecom"]["scenario"] == "ReadyAfter"
    assert (await sim.json("23telecom"))[1] == {
        "status": False,
        "error": "Account is in setup process",
    }
    status, text = await sim.control("23telecom", {"scenario": None})
    assert (status, json.loads(text)["scenario"]) == (200, None)
    sim.clock.now = START + 60.0
    assert (await sim.json("23telecom"))[1] == {
        "status": False,
        "error": "Account is in setup process",
    }


# --- counting and the control interface ---------------------------------------------------------


async def test_requests_are_counted_per_account(sim: Sim) -> None:
    for name, times in [("telnyx", 3), ("youcom", 1), ("23telecom", 2)]:
        for _ in range(times):
            await sim.call(name)
    sim.account("twilio").fault = "500"
    await sim.call("twilio")
    async with sim.client.get("/v2/balance", headers={"Authorization": "Bearer nobody"}):
        pass
    assert sim.simulator.requests == {"telnyx": 3, "youcom": 1, "23telecom": 2, "twilio": 1}
    listing = await sim.listing()
    assert {name: entry["requests"] for name, entry in listing.items()} == {
        "telnyx": 3,
        "twilio": 1,
        "clickatell": 0,
        "clickatell-platform": 0,
        "youcom": 1,
        "23telecom": 2,
    }


async def test_listing_shows_each_account_without_its_key(sim: Sim) -> None:
    await sim.call("youcom")
    async with sim.client.get("/-/sim/accounts") as response:
        text = await response.text()
    assert CANARY not in text
    listing = json.loads(text)
    assert list(listing) == list(PROVIDERS)
    assert listing["youcom"] == {
        "provider": "youcom",
        "balance": "7189.245",
        "currency": "USD",
        "credit_limit": None,
        "pending": None,
        "state": "ok",
        "fault": None,
        "retry_after": "30",
        "served": "7189.245",
        "scenario": None,
        "requests": 1,
    }
    assert listing["23telecom"]["served"] is None


async def test_control_changes_what_the_provider_answers(sim: Sim) -> None:
    status, text = await sim.control(
        "23telecom", {"balance": "12.34", "state": "degraded", "fault": None, "retry_after": 5}
    )
    assert status == 200
    assert json.loads(text) == {
        "provider": "23telecom",
        "balance": "12.34",
        "currency": "EUR",
        "credit_limit": None,
        "pending": None,
        "state": "degraded",
        "fault": None,
        "retry_after": "5",
        "served": None,
        "scenario": None,
        "requests": 0,
    }
    assert (await sim.json("23telecom"))[1]["unavailable"] is True
    assert (await sim.control("23telecom", {"state": "ok", "balance": 7}))[0] == 200
    assert await sim.json("23telecom") == (
        200,
        {"balance": 7.0, "currency": "EUR", "updated": "2026.02.13 10:15:00"},
    )
    assert (await sim.control("23telecom", {"fault": "403"}))[0] == 200
    assert (await sim.call("23telecom"))[0] == 403
    assert (await sim.control("23telecom", {"fault": None}))[0] == 200
    assert (await sim.call("23telecom"))[0] == 200
    assert (await sim.listing())["23telecom"]["served"] == "7"


STATES_TEXT = "ok, setup, degraded, degraded-header, subaccount, subaccount-404"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"colour": "red"}, "unknown field 'colour'"),
        ({"balance": "lots"}, "balance must be a number"),
        ({"balance": "NaN"}, "balance must be a number"),
        ({"balance": None}, "balance must be a number"),
        ({"balance": True}, "balance must be a number"),
        ({"state": "broken"}, f"state must be one of {STATES_TEXT}"),
        ({"fault": "teapot"}, f"fault must be null or one of {', '.join(FAULTS)}"),
        ({"retry_after": -1}, "retry_after must be a whole number of seconds, 0 or more"),
        ({"retry_after": "soon"}, "retry_after must be a whole number of seconds, 0 or more"),
        ({"retry_after": None}, "retry_after must be a whole number of seconds, 0 or more"),
        ({"retry_after": 1.5}, "retry_after must be a whole number of seconds, 0 or more"),
        ({"scenario": "ReadyAfter"}, "scenario can only be stopped (null)"),
        ([1, 2], "body must be a JSON object"),
        ("ok", "body must be a JSON object"),
    ],
)
async def test_control_rejects_a_bad_change_and_changes_nothing(
    sim: Sim, change: Any, problem: str
) -> None:
    before = sim.account("telnyx").describe()
    # A valid part next to the invalid one is not applied either.
    body = (
        {**change, "balance": "1"}
        if isinstance(change, dict) and "balance" not in change
        else change
    )
    assert await sim.control("telnyx", body) == (400, problem + "\n")
    assert sim.account("telnyx").describe() == before


async def test_control_reports_every_problem_at_once(sim: Sim) -> None:
    assert await sim.control("telnyx", {"state": "x", "fault": "y", "extra": 1}) == (
        400,
        "unknown field 'extra'\n"
        f"state must be one of {STATES_TEXT}\n"
        f"fault must be null or one of {', '.join(FAULTS)}\n",
    )


async def test_control_rejects_a_body_that_is_not_json(sim: Sim) -> None:
    async with sim.client.post("/-/sim/accounts/telnyx", data=b"{not json") as response:
        assert (response.status, await response.text()) == (400, "body must be a JSON object\n")


async def test_control_of_an_unknown_account_is_404(sim: Sim) -> None:
    assert await sim.control("nobody", {"state": "ok"}) == (404, "no such simulated account\n")
