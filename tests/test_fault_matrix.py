"""The fault matrix: every provider x every fault a provider can show, counted at the simulator.

One daemon on a fake clock polls, over real HTTP, one simulated account per (provider, fault)
and one healthy control account per provider, so that every cell runs at once. For each cell:
the process keeps serving, the other accounts keep updating, the last trustworthy balance
stays, ``billing_up`` is 0 with the right reason counted, the next request waits as long as the
provider asked (or at least the interval when it did not say), the account recovers when the
fault clears, and its secret shows in no log line and no page. The run prints the matrix.

The stack here (``running_stack``) is shared with tests/test_respect.py. Time moves one poll
deadline at a time, and only once every request of that moment has been answered: a request
sent at fake time t is answered at fake time t, as on a real clock where the answer is fast.
Requests that hang or drip end on a real timeout, so the clock may move on while they wait.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal

import aiohttp
import pytest
from aiohttp import web
from fakeclock import EPOCH, FakeClock, seeded, wait_until
from prometheus_client.parser import text_string_to_metric_families
from provider_kit import every_api

from balance_exporter.config.checker import parse_config
from balance_exporter.daemon import Daemon
from balance_exporter.demo import config_settings, serve_app, start_simulator
from balance_exporter.logs import JsonFormatter
from balance_exporter.polling.errors import Reason
from balance_exporter.simulator import FAULTS, RateLimit, SimAccount, Simulator
from balance_exporter.simulator.providers.registry import SIMULATED
from balance_exporter.web.server import RENDERER

APIS = every_api()  # case id -> (provider, variant, Api): the matrix's rows
PROVIDERS = list(APIS)
INTERVAL = 60.0
SLOW_TIMEOUT = "1s"  # real time; for the faults that never finish an answer
SLOW_FAULTS = ("hang", "drip")
REFUSED = "refused"  # nothing listens on the account's port: not a simulator fault
COLUMNS = (*FAULTS, REFUSED)

# The reason each fault must be counted under.
EXPECTED_REASON = {
    "hang": Reason.TIMEOUT,
    "drip": Reason.TIMEOUT,
    "reset": Reason.NETWORK,
    "drop": Reason.NETWORK,
    REFUSED: Reason.NETWORK,
    "500": Reason.SERVER_ERROR,
    "502-html": Reason.SERVER_ERROR,
    "503-retry-after": Reason.SERVER_ERROR,
    "429-seconds": Reason.RATE_LIMITED,
    "429-date": Reason.RATE_LIMITED,
    "429-bare": Reason.RATE_LIMITED,
    "429-reset-ms": Reason.RATE_LIMITED,
    "401": Reason.AUTH,
    "403": Reason.AUTH,
    "malformed-json": Reason.INVALID_RESPONSE,
    "wrong-shape": Reason.INVALID_RESPONSE,
    "nan": Reason.INVALID_RESPONSE,
    "infinity": Reason.INVALID_RESPONSE,
    "thousands": Reason.INVALID_RESPONSE,
    "huge-body": Reason.INVALID_RESPONSE,
}
ASKED_WAIT = 600  # what the faults that name a wait ask for: ten intervals
ASKING_FAULTS = ("503-retry-after", "429-seconds", "429-date", "429-reset-ms")

Series = tuple[str, tuple[tuple[str, str], ...]]
Samples = dict[Series, float]


# --- the stack: simulator, daemon, fake clock -------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """One simulated account and how the exporter's config names it."""

    name: str
    sim: SimAccount
    slow: bool = False  # answers never complete: a short timeout, in real time
    via_gate: bool = False  # reached through a Gate that can refuse connections

    case_id: str = ""  # the provider API it stands for

    @property
    def provider(self) -> str:
        return self.sim.provider

    @property
    def currency(self) -> str:
        return SIMULATED[self.provider].shown(self.sim, self.sim.balance).currency

    @property
    def labels(self) -> dict[str, str]:
        return {"provider": self.provider, "account": self.name}

    @property
    def balance_series(self) -> Series:
        return series("billing_balance", currency=self.currency, **self.labels)

    def config_line(self, url: str) -> str:
        return (
            f"  - {{name: {self.name}, {config_settings(self.sim)}, base_url: '{url}', "
            f"interval: 1m, timeout: {SLOW_TIMEOUT if self.slow else '5s'}}}"
        )


def key_of(name: str) -> str:
    """A canary credential, unique per account, that must never be seen outside a request."""
    return "cnry-" + hashlib.sha256(name.encode()).hexdigest()[:24]


def simulated(name: str, case_id: str, balance: Decimal) -> SimAccount:
    """The case table's simulated account for ``case_id``, with its own key and identifiers."""
    digest = hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()
    template = APIS[case_id][2].sim_account
    return replace(
        template,
        key=key_of(name),
        balance=balance,
        account_sid=None if template.account_sid is None else "AC" + digest,
        entity_id=None if template.entity_id is None else "ent_" + digest[:8],
        api_key_sid=None,
    )


class Gate:
    """A loopback port in front of the simulator that forwards, or refuses connections."""

    def __init__(self, target: str) -> None:
        host, port = target.removeprefix("http://").rsplit(":", 1)
        self.target = (host, int(port))
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def open(self) -> None:
        self.server = await asyncio.start_server(self._forward, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and cut every open connection: the next connect is refused."""
        if self.server is None:
            return
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()
        await self.server.wait_closed()
        self.server = None

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            self.writers.discard(writer)
            return
        self.writers.add(upstream_writer)
        await asyncio.gather(_pump(reader, upstream_writer), _pump(upstream_reader, writer))
        self.writers.difference_update((writer, upstream_writer))


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
    except OSError:
        pass
    finally:
        sink.close()


@dataclass
class Stack:
    clock: FakeClock
    simulator: Simulator
    daemon: Daemon
    app: web.Application
    url: str
    client: aiohttp.ClientSession
    slow: frozenset[str]  # accounts whose requests may outlive a step
    times: dict[str, list[float]] = field(default_factory=dict)  # fake time of each request
    scraped_while_hanging: set[str] = field(default_factory=set)
    pages: list[str] = field(default_factory=list)  # every page served, for the secret check

    @property
    def count(self) -> int:
        return len(self.simulator.accounts)

    def in_flight(self) -> list[str]:
        """Slow accounts whose request reached the simulator and has not ended yet."""
        store = self.daemon.store
        return [
            name for name in self.slow if self.simulator.requests[name] > store.state(name).polls
        ]

    async def run_to(self, target: float) -> None:
        """Move the clock to ``target``, one poll deadline at a time."""
        while True:
            deadlines = self.clock.deadlines()
            if not deadlines or deadlines[0] > target:
                break
            await self.clock.advance_to(deadlines[0])
            await self._step_done()
        await self.clock.advance_to(target)
        await self._step_done()

    async def quiet(self) -> None:
        """Wait until no request is in flight at all, the hanging ones included."""
        await wait_until(lambda: self.clock.sleeping == self.count, what="every poll finished")
        self._note_requests()

    async def _step_done(self) -> None:
        await wait_until(
            lambda: self.clock.sleeping + len(self.in_flight()) == self.count,
            what=f"the polls due at {self.clock.monotonic():.3f}s answered",
        )
        self._note_requests()
        hanging = set(self.in_flight()) - self.scraped_while_hanging
        if hanging:  # the process keeps serving while a provider hangs
            async with self.client.get(f"{self.url}/metrics") as response:
                body = await response.text()
            if response.status == 200 and "billing_up{" in body:
                self.scraped_while_hanging |= hanging
            self.pages.append(body)

    def _note_requests(self) -> None:
        now = self.clock.monotonic()
        for name in self.simulator.accounts:
            seen = self.times.setdefault(name, [])
            seen.extend([now] * (self.simulator.requests[name] - len(seen)))

    async def get(self, path: str) -> str:
        async with self.client.get(f"{self.url}{path}") as response:
            assert response.status == 200, f"GET {path}: HTTP {response.status}"
            text = await response.text()
        self.pages.append(text)
        return text

    async def scrape(self) -> Samples:
        """/metrics once it shows the current snapshot, parsed."""
        await self.get("/metrics")  # the first scrape of a format makes the renderer keep it
        await self.app[RENDERER].settled()
        samples: Samples = {}
        for family in text_string_to_metric_families(await self.get("/metrics")):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples


def series(name: str, **labels: str) -> Series:
    return name, tuple(sorted(labels.items()))


@asynccontextmanager
async def running_stack(
    specs: Iterable[Spec], *, rate_limit: RateLimit | None = None, seed: int = 7
) -> AsyncIterator[tuple[Stack, Gate | None]]:
    """The simulator and the daemon on loopback, both on one fake clock, every task asleep."""
    specs = list(specs)
    clock = FakeClock()
    simulator = Simulator(
        clock=clock.monotonic, wall_clock=clock.time, rate_limit=rate_limit or RateLimit()
    )
    for spec in specs:
        simulator.add(spec.name, spec.sim)
    async with AsyncExitStack() as cleanup:
        running = await start_simulator(simulator)
        cleanup.push_async_callback(running.stop)  # also ends the requests left hanging
        gate: Gate | None = None
        if any(spec.via_gate for spec in specs):
            gate = Gate(running.url)
            await gate.open()
            cleanup.push_async_callback(gate.close)
        lines = [
            "global: {max_concurrent_requests: 32}",
            "accounts:",
            *(
                spec.config_line(gate.url if gate and spec.via_gate else running.url)
                for spec in specs
            ),
        ]
        config = parse_config("\n".join(lines) + "\n", "matrix.yml")
        daemon = Daemon(lambda: config, config, clock=clock)
        daemon.scheduler.rng = seeded(seed)
        # Every account's slot at the full minute: first polls in the first 5 s, then all at
        # 60 s, 120 s ... so that one moment separates each round of polls from the next.
        daemon.scheduler.phase = lambda name, interval: 0.0
        app = daemon.app()
        served = await serve_app(app)
        cleanup.push_async_callback(served.stop)
        client = await cleanup.enter_async_context(
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        )
        slow = frozenset(spec.name for spec in specs if spec.slow)
        stack = Stack(clock, simulator, daemon, app, served.url, client, slow)
        cleanup.push_async_callback(daemon.stop)
        await daemon.start()
        await clock.wait_for_sleepers(len(specs))
        yield stack, gate


# --- the matrix --------------------------------------------------------------------------------


@dataclass
class Cell:
    provider: str  # the simulator's
    fault: str
    spec: Spec
    before: Decimal  # the balance before the fault
    after: Decimal  # the balance once it clears
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)


def cells() -> list[Cell]:
    made = []
    for row, provider in enumerate(PROVIDERS):
        for column, fault in enumerate(COLUMNS):
            name = f"{provider}-{fault}"
            before = Decimal(f"{100 + 20 * row + column}.25")
            spec = Spec(
                name,
                simulated(name, provider, before),
                slow=fault in SLOW_FAULTS,
                via_gate=fault == REFUSED,
                case_id=provider,
            )
            made.append(Cell(provider, fault, spec, before, before + Decimal("400.50")))
    return made


def controls() -> list[Spec]:
    """A healthy account per provider, to show that the others keep updating."""
    return [
        Spec(
            f"{provider}-control",
            simulated(f"{provider}-control", provider, Decimal(f"{1000 + index}.10")),
            case_id=provider,
        )
        for index, provider in enumerate(PROVIDERS)
    ]


def move_balances(specs: list[Spec], first: Decimal) -> dict[str, Decimal]:
    """Give the accounts new balances, counting up by one from ``first``; those by name."""
    balances = {spec.name: first + index for index, spec in enumerate(specs)}
    for spec in specs:
        spec.sim.balance = balances[spec.name]
    return balances


def asked_moment(cell: Cell, failed_at: float) -> float:
    """When the provider said the next request may come, on the fake monotonic clock."""
    if cell.fault == "429-date" and cell.provider != "telnyx":
        # An HTTP date has whole seconds; Telnyx adds x-ratelimit-reset in seconds, the longer.
        return math.floor(EPOCH + failed_at + ASKED_WAIT) - EPOCH
    return failed_at + ASKED_WAIT


def failure_records(records: Iterable[logging.LogRecord], name: str) -> list[str]:
    return [
        str(getattr(record, "reason", None))
        for record in records
        if record.getMessage() == "poll failed" and getattr(record, "account", None) == name
    ]


def matrix_lines(matrix: list[Cell]) -> list[str]:
    verdict = {
        (cell.provider, cell.fault): "pass" if not cell.problems else "FAIL" for cell in matrix
    }
    width = max(len(fault) for fault in COLUMNS) + 2
    lines = ["fault".ljust(width) + "  ".join(provider for provider in PROVIDERS)]
    for fault in COLUMNS:
        lines.append(
            fault.ljust(width)
            + "  ".join(verdict[(provider, fault)].ljust(len(provider)) for provider in PROVIDERS)
        )
    passed = sum(1 for cell in matrix if not cell.problems)
    lines.append(f"{passed} of {len(matrix)} cells pass")
    return lines


async def test_no_provider_fault_breaks_the_exporter(
    caplog: pytest.LogCaptureFixture, report_table: dict[str, list[str]]
) -> None:
    caplog.set_level(logging.DEBUG)
    matrix = cells()
    control_specs = controls()
    async with running_stack([cell.spec for cell in matrix] + control_specs) as (stack, gate):
        assert gate is not None
        # Healthy: two polls each (first ones spread over 10 s, then one a minute +-5%).
        await stack.run_to(75.0)
        await stack.quiet()
        healthy = await stack.scrape()
        for cell in matrix:
            cell.check(len(stack.times[cell.name]) == 2, "two healthy polls before the fault")
            cell.check(
                healthy.get(cell.spec.balance_series) == float(cell.before),
                f"the healthy balance {cell.before} exported",
            )

        # The fault. The balance changes too: a faulty answer must not be read as one.
        for cell in matrix:
            account = stack.simulator.accounts[cell.name]
            account.balance = cell.after
            account.retry_after = str(ASKED_WAIT)
            if cell.fault != REFUSED:
                account.fault = cell.fault
        await gate.close()
        moved = move_balances(control_specs, Decimal("2000.20"))
        # Every account's third poll falls at 120 s; none polls again before 180 s.
        await stack.run_to(140.0)
        await stack.quiet()
        during = await stack.scrape()
        landing = await stack.get("/")
        failed_at: dict[str, float] = {}
        for cell in matrix:
            state = stack.daemon.store.state(cell.name)
            assert state.last_poll is not None
            failed_at[cell.name] = state.last_poll - EPOCH
            _check_failed(cell, stack, healthy, during)
        for spec in control_specs:
            assert during[series("billing_up", **spec.labels)] == 1
            assert during[spec.balance_series] == float(moved[spec.name])

        # The fault clears.
        for cell in matrix:
            stack.simulator.accounts[cell.name].fault = None
        await gate.open()
        moved = move_balances(control_specs, Decimal("3000.30"))
        await stack.run_to(800.0)
        await stack.quiet()
        recovered = await stack.scrape()
        for cell in matrix:
            _check_recovered(cell, stack, failed_at[cell.name], recovered, control_specs)
        for spec in control_specs:
            assert stack.daemon.store.state(spec.name).failures == (0,) * len(Reason)
            assert recovered[spec.balance_series] == float(moved[spec.name])
        pages = "\n".join([*stack.pages, landing])

    formatter = JsonFormatter()
    logged = "\n".join(formatter.format(record) for record in caplog.records).lower()
    shown = pages.lower()  # once: the pages are megabytes
    for cell in matrix:
        reasons = failure_records(caplog.records, cell.name)
        cell.check(
            reasons == [EXPECTED_REASON[cell.fault].value],
            f"one 'poll failed' log line with reason {EXPECTED_REASON[cell.fault].value}, "
            f"got {reasons}",
        )
        key = cell.spec.sim.key.lower()
        cell.check(key not in logged and key[5:] not in logged, "the secret shows in the logs")
        cell.check(key not in shown, "the secret shows on a page")

    report_table["fault matrix (provider x fault)"] = matrix_lines(matrix)
    failed = [f"{cell.name}: {'; '.join(cell.problems)}" for cell in matrix if cell.problems]
    assert not failed, "failing cells:\n" + "\n".join(failed)


def _check_failed(cell: Cell, stack: Stack, healthy: Samples, during: Samples) -> None:
    labels = cell.spec.labels
    times = stack.times[cell.name]
    reached = 2 if cell.fault == REFUSED else 3  # a refused connection reaches no simulator
    cell.check(len(times) == reached, f"{reached} requests by 140 s, got {len(times)}")
    if cell.fault != REFUSED and len(times) == 3:
        cell.check(117.0 <= times[2] < 133.0, f"the failing request at {times[2]:.1f}s")
    cell.check(during.get(series("billing_up", **labels)) == 0, "billing_up 0 during the fault")
    cell.check(during.get(series("billing_polls_total", **labels)) == 3, "3 polls counted")
    expected = EXPECTED_REASON[cell.fault]
    counted = {
        reason.value: during.get(
            series("billing_poll_failures_total", reason=reason.value, **labels)
        )
        for reason in Reason
    }
    cell.check(
        counted == {reason.value: float(reason == expected) for reason in Reason},
        f"one failure counted as {expected.value}, got "
        + ", ".join(f"{reason}={count}" for reason, count in counted.items() if count),
    )
    balance = cell.spec.balance_series
    cell.check(
        during.get(balance) == float(cell.before),
        f"the last trustworthy balance {cell.before} stays, got {during.get(balance)}",
    )
    success = series("billing_last_success_timestamp_seconds", **labels)
    cell.check(during.get(success) == healthy.get(success), "last success time unchanged")
    if cell.fault in SLOW_FAULTS:
        cell.check(
            cell.name in stack.scraped_while_hanging, "/metrics answered while the request hung"
        )


def _check_recovered(
    cell: Cell, stack: Stack, failed_at: float, recovered: Samples, control_specs: list[Spec]
) -> None:
    labels = cell.spec.labels
    times = stack.times[cell.name]
    after = 2 if cell.fault == REFUSED else 3  # index of the first request after the failure
    if len(times) <= after:
        cell.problems.append("no request after the fault cleared")
        return
    sent = failed_at if cell.fault in (*SLOW_FAULTS, REFUSED) else times[2]
    following = times[after]
    if cell.fault in ASKING_FAULTS:
        moment = asked_moment(cell, sent)
        cell.check(
            abs(following - moment) < 1e-3,
            f"the next request at the moment asked ({moment - sent:.3f}s later), "
            f"came {following - sent:.3f}s later",
        )
    else:  # nothing asked: at least an interval, at most the interval with its 5% of spread
        cell.check(
            following - sent >= INTERVAL and following - failed_at <= INTERVAL * 1.05 + 1e-6,
            f"the next request one interval after the failure, came {following - sent:.3f}s later",
        )
    for spec in control_specs:  # each polled on its own schedule: one a minute, +-5%
        cell.check(
            any(sent < moment <= sent + INTERVAL * 1.1 for moment in stack.times[spec.name]),
            f"{spec.name} polled on schedule after {cell.name} failed",
        )
    cell.check(recovered.get(series("billing_up", **labels)) == 1, "billing_up 1 once it clears")
    balance = cell.spec.balance_series
    cell.check(
        recovered.get(balance) == float(cell.after),
        f"the fresh balance {cell.after} once it clears, got {recovered.get(balance)}",
    )
    expected = EXPECTED_REASON[cell.fault]
    counted = recovered.get(series("billing_poll_failures_total", reason=expected.value, **labels))
    cell.check(counted == 1, f"the {expected.value} failure stays counted once, got {counted}")


def test_every_cell_of_the_matrix_is_a_distinct_account() -> None:
    matrix = cells()
    assert len(matrix) == len(PROVIDERS) * len(COLUMNS)
    assert {cell.provider for cell in matrix} == set(APIS)  # every registered provider API
    assert len({cell.name for cell in matrix}) == len(matrix)
    assert len({cell.spec.sim.key for cell in matrix}) == len(matrix)
    assert set(EXPECTED_REASON) == set(COLUMNS)
