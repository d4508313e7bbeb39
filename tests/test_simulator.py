"""The simulated providers: documented paths and auth, states, faults, rate limits, scenarios,
request counting and the control interface, driven over HTTP on an injected clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from fakeclock import wait_until
from multidict import CIMultiDict
from provider_kit import every_api

from balance_exporter.providers.registry import BUILT_IN
from balance_exporter.simulator import FAULTS, RateLimit, SimAccount, Simulator
from balance_exporter.simulator.faults import AMOUNTS, HTML_502
from balance_exporter.simulator.providers.base import SimProvider
from balance_exporter.simulator.providers.registry import SIMULATED
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


APIS = every_api()  # case id -> (provider, variant, Api), from the providers' case tables
CASE_IDS = list(APIS)


def accounts() -> dict[str, SimAccount]:
    """One healthy account per provider API, named by its case id."""
    return {case_id: replace(api.sim_account) for case_id, (_, _, api) in APIS.items()}


def documented_request(name: str, account: SimAccount | None = None) -> tuple[str, dict[str, str]]:
    """The documented path and headers for account ``name`` (one of the case tables' own, or
    ``account``, another of the same provider API with a key sent as it is)."""
    if account is None or name in APIS:
        path, headers = APIS[name][2].sim_request
        return path, dict(headers)
    ((_, _, api),) = [
        entry for entry in APIS.values() if entry[:2] == (account.provider, account.variant)
    ]
    path, headers = api.sim_request
    key = api.sim_account.key
    return path.replace(key, account.key), {
        name: value.replace(key, account.key) for name, value in headers.items()
    }


def sim_provider(name: str) -> SimProvider:
    return SIMULATED[APIS[name][0]]


@dataclass
class Sim:
    simulator: Simulator
    clock: Clock
    client: Client

    def account(self, name: str) -> SimAccount:
        return self.simulator.accounts[name]

    async def call(self, name: str) -> tuple[int, CIMultiDict[str], bytes]:
        """One documented request for account ``name``: status, headers and body."""
        path, headers = documented_request(name, self.account(name))
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
# The exact bodies of each provider are rows of its case table (SIM_ANSWERS); here, what every
# simulated provider does alike.


@pytest.mark.parametrize("name", CASE_IDS)
async def test_documented_request_gets_a_trustworthy_answer(sim: Sim, name: str) -> None:
    status, headers, _ = await sim.call(name)
    assert status == 200
    media_type = headers["Content-Type"].split(";")[0]
    assert media_type == "application/json" or media_type.endswith("+json"), media_type
    assert gateway(headers) == {}  # absent on healthy answers
    assert sim.simulator.requests == {name: 1}
    assert sim.account(name).served == sim.account(name).balance


@pytest.mark.parametrize("name", CASE_IDS)
async def test_a_wrong_key_gets_the_providers_own_401_and_touches_no_account(
    sim: Sim, name: str
) -> None:
    path, headers = documented_request(name)
    # The documented request, once its key is no longer the account's, and no key at all.
    sim.account(name).key = "no-longer-the-key"
    for attempt in (headers, {}):
        async with sim.client.get(path, headers=attempt) as response:
            assert response.status == 401
            assert await response.read() == sim_provider(name).refused(401, APIS[name][1]).body
    assert sim.simulator.requests == {}  # nobody's account was asked


def test_every_simulated_provider_is_registered_and_every_registered_one_simulated() -> None:
    assert set(SIMULATED) == set(BUILT_IN)
    for name, cls in BUILT_IN.items():
        assert SIMULATED[name].variants == tuple(cls.variants()), name


# --- faults -------------------------------------------------------------------------------------

HEALTHY_BALANCES = {name: account.balance for name, account in accounts().items()}


def own_answer(name: str, fault: str) -> web.Response:
    """What the account's provider answers on its own for what ``fault`` stands for."""
    provider, variant = sim_provider(name), APIS[name][1]
    if fault in ("500", "503-retry-after"):
        return provider.server_error(int(fault[:3]), variant)
    if fault in ("401", "403"):
        return provider.refused(int(fault), variant)
    if fault.startswith("429"):
        return provider.rate_limited(30, variant, announce=fault in ("429-seconds", "429-date"))
    if fault == "502-html":
        return web.Response(status=502, text=HTML_502, content_type="text/html")
    if fault == "malformed-json":
        return web.Response(text='{"data": {"balance": ', content_type="application/json")
    if fault == "wrong-shape":
        return web.json_response({"result": ["unexpected"]})
    return web.json_response(provider.with_amount(AMOUNTS[fault], variant))


def expected_fault(name: str, fault: str) -> tuple[int, dict[str, str], str, bytes]:
    """status, headers that must be there, content type and body."""
    own = own_answer(name, fault)
    headers = {key: value for key, value in own.headers.items() if key.lower().startswith("x-")}
    if "Retry-After" in own.headers:
        headers["Retry-After"] = own.headers["Retry-After"]
    if fault == "503-retry-after":
        headers["Retry-After"] = "30"
    if fault == "429-date":
        headers["Retry-After"] = "Fri, 13 Feb 2026 16:27:10 GMT"
    if fault == "429-reset-ms":  # WALL + 30 s, in milliseconds
        headers = {"X-RateLimit-Reset": "1771000030000"}
    content_type = own.headers.get("Content-Type", "application/octet-stream")
    assert own.body is None or isinstance(own.body, bytes)
    return own.status, headers, content_type, own.body or b""


# The faults that answer at once and whole; the others have tests of their own below.
ANSWERING_FAULTS = tuple(
    fault for fault in FAULTS if fault not in ("hang", "reset", "drop", "huge-body", "drip")
)


def test_the_fault_list_is_the_one_tested_here() -> None:
    assert set(FAULTS) == {*ANSWERING_FAULTS, "hang", "reset", "drop", "huge-body", "drip"}
    assert len(FAULTS) == 19


@pytest.mark.parametrize("fault", ANSWERING_FAULTS)
@pytest.mark.parametrize("name", CASE_IDS)
async def test_fault_answers_in_the_providers_own_way(sim: Sim, name: str, fault: str) -> None:
    assert (await sim.call(name))[0] == 200
    sim.account(name).fault = fault
    sim.account(name).balance = Decimal("1.00")
    status, headers, body = await sim.call(name)
    want_status, want_headers, content_type, want_body = expected_fault(name, fault)
    assert status == want_status
    assert {key: headers[key] for key in want_headers if key in headers} == want_headers
    if fault == "429-bare":
        assert not {key for key in headers if "retry" in key.lower() or "ratelimit" in key.lower()}
    elif "Retry-After" not in want_headers:
        assert "Retry-After" not in headers
    assert headers.get("Content-Type", "application/octet-stream") == content_type
    assert body == want_body
    if fault in ("500", "503-retry-after", "401", "403", "429-seconds"):
        assert status >= 400  # an error status, whatever the provider's own one is
    # Counted, and no fault is a trustworthy answer.
    assert sim.simulator.requests == {name: 2}
    assert sim.account(name).served == HEALTHY_BALANCES[name]


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
    assert (status, headers["x-ratelimit-reset"]) == (429, seconds)  # Telnyx's own wait header


@pytest.mark.parametrize("name", CASE_IDS)
async def test_huge_body_is_over_a_mebibyte(sim: Sim, name: str) -> None:
    sim.account(name).fault = "huge-body"
    status, headers, body = await sim.call(name)
    assert (status, headers["Content-Type"]) == (200, "application/json")
    assert len(body) == 1024 * 1024 + 12
    assert json.loads(body) == {}


@pytest.mark.parametrize("name", CASE_IDS)
async def test_reset_cuts_the_body_short(sim: Sim, name: str) -> None:
    sim.account(name).fault = "reset"
    path, headers = documented_request(name)
    response = await sim.client.get(path, headers=headers)
    assert (response.status, response.headers["Content-Length"]) == (200, "500")
    with pytest.raises(aiohttp.ClientPayloadError):
        await response.read()
    response.release()
    assert sim.simulator.requests == {name: 1}


async def test_drip_sends_a_body_one_byte_at_a_time(sim: Sim) -> None:
    sim.account("telnyx").fault = "drip"
    path, headers = documented_request("telnyx")
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


@pytest.mark.parametrize("name", CASE_IDS)
async def test_rate_limit_answers_the_providers_way_and_counts_down(
    limited: Sim, name: str
) -> None:
    async def limited_answer() -> tuple[int, dict[str, str], bytes]:
        status, headers, body = await limited.call(name)
        return status, waits(headers), body

    def waits(headers: Mapping[str, str]) -> dict[str, str]:
        return {
            key.lower(): value
            for key, value in headers.items()
            if "retry" in key.lower() or "ratelimit" in key.lower()
        }

    def own(seconds: int) -> web.Response:
        return sim_provider(name).rate_limited(seconds, APIS[name][1])

    def expected(seconds: int) -> tuple[int, dict[str, str], bytes]:
        answer = own(seconds)
        assert isinstance(answer.body, bytes | None)
        return answer.status, waits(answer.headers), answer.body or b""

    # The wait is announced in the provider's own header, whichever it is.
    assert {"Retry-After", "x-ratelimit-reset"} & set(own(1).headers)

    limited.clock.now = START + 0.0
    assert [(await limited.call(name))[0] for _ in range(2)] == [200, 200]
    limited.clock.now = START + 10.0
    assert (await limited.call(name))[0] == 200
    # Three in the window: the fourth waits until the first leaves it, 60 s after it came.
    assert await limited_answer() == expected(50)
    limited.clock.now = START + 15.5
    assert await limited_answer() == expected(45)
    limited.clock.now = START + 59.9
    assert await limited_answer() == expected(1)
    # The two first requests leave the window together; the third (t=10) still holds its slot.
    limited.clock.now = START + 60.0
    assert [(await limited.call(name))[0] for _ in range(2)] == [200, 200]
    assert await limited_answer() == expected(10)
    # Every request was counted, refused ones too; a refusal is not a trustworthy answer.
    assert limited.simulator.requests == {name: 9}
    limited.account(name).balance = Decimal("5")
    assert (await limited_answer())[0] == own(1).status
    assert limited.account(name).served == HEALTHY_BALANCES[name]


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
    sim.account("clickatell-rest").scenario = RateLimitBursts(every=60.0, lasting=10.0, after=5.0)
    sim.simulator.add(
        "uk-new", SimAccount("23telecom", "ready-key", scenario=ReadyAfter(seconds=30.0))
    )

    async def story() -> tuple[str, str, int, Any]:
        _, telnyx = await sim.json("telnyx")
        _, headers, _ = await sim.call("23telecom")
        clickatell = (await sim.call("clickatell-rest"))[0]
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
    asked = {"telnyx": 3, "twilio": 1, "youcom": 1, "23telecom": 2}
    assert {name: entry["requests"] for name, entry in listing.items()} == {
        name: asked.get(name, 0) for name in CASE_IDS
    }


async def test_listing_shows_each_account_without_its_key(sim: Sim) -> None:
    await sim.call("youcom")
    async with sim.client.get("/-/sim/accounts") as response:
        text = await response.text()
    for account in sim.simulator.accounts.values():
        assert account.key not in text
    listing = json.loads(text)
    assert list(listing) == CASE_IDS
    assert listing["youcom"] == {
        "provider": "youcom",
        "variant": "",
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
        "variant": "",
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


STATES_TEXT = "ok"  # the states a Telnyx account can be put in


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
