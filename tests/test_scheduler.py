"""The polling loop on a fake clock: spread, grid, jitter, backoff, Retry-After, caps, reloads."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal

import pytest
from fakeclock import EPOCH, FakeClock, seeded, settle

from balance_exporter.config.account import AccountConfig
from balance_exporter.config.secret import Secret
from balance_exporter.metrics.collector import families
from balance_exporter.metrics.reading import Reading
from balance_exporter.metrics.snapshot import SnapshotStore
from balance_exporter.polling.backoff import JITTER, MAX_BACKOFF, START_SPREAD, phase
from balance_exporter.polling.errors import PollError, Reason
from balance_exporter.polling.scheduler import Scheduler
from balance_exporter.providers.telnyx import TelnyxSettings

EPS = 1e-6
CANARY = "canary-sched-7Qm2-do-not-leak"

# What one call of the fake poll does: gets the 1-based call number for that account.
Behaviour = Callable[[int], Awaitable[Reading]]


def account(name: str, interval: float = 60.0, key: str = CANARY) -> AccountConfig:
    return AccountConfig(
        name=name,
        provider="telnyx",
        interval=interval,
        timeout=15.0,
        settings=TelnyxSettings(api_key=Secret(key)),
    )


def reading(balance: str = "10.00") -> Reading:
    return Reading(currency="USD", balance=Decimal(balance))


async def healthy(call: int) -> Reading:
    return reading()


def failing(reason: Reason = Reason.SERVER_ERROR, retry_after: float | None = None) -> Behaviour:
    async def behave(call: int) -> Reading:
        raise PollError(reason, f"failure {call}", status=503, retry_after=retry_after)

    return behave


def scripted(*outcomes: Reading | PollError | Exception) -> Behaviour:
    """Outcome N for call N; the last one repeats."""

    async def behave(call: int) -> Reading:
        outcome = outcomes[min(call, len(outcomes)) - 1]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return behave


def takes(clock: FakeClock, seconds: float) -> Behaviour:
    """A poll that answers after ``seconds`` on ``clock``."""

    async def behave(call: int) -> Reading:
        await clock.sleep(seconds)
        return reading()

    return behave


async def hangs(call: int) -> Reading:
    await asyncio.Event().wait()  # nothing ever sets it
    raise AssertionError("unreachable")


@dataclass
class FakePolls:
    """A poll_function that records every call and how many polls run at once."""

    clock: FakeClock

    def __post_init__(self) -> None:
        self.behaviour: dict[str, Behaviour] = {}
        self.calls: dict[str, list[float]] = defaultdict(list)
        self.in_flight: Counter[str] = Counter()
        self.peak_per_account: Counter[str] = Counter()
        self.peak_total = 0
        self.cancelled: list[str] = []

    async def __call__(self, account: AccountConfig) -> Reading:
        name = account.name
        self.calls[name].append(self.clock.monotonic())
        self.in_flight[name] += 1
        self.peak_per_account[name] = max(self.peak_per_account[name], self.in_flight[name])
        self.peak_total = max(self.peak_total, self.in_flight.total())
        try:
            return await self.behaviour.get(name, healthy)(len(self.calls[name]))
        except asyncio.CancelledError:
            self.cancelled.append(name)
            raise
        finally:
            self.in_flight[name] -= 1

    def count(self, name: str) -> int:
        return len(self.calls[name])

    def gaps(self, name: str) -> list[float]:
        times = self.calls[name]
        return [later - earlier for earlier, later in itertools.pairwise(times)]


@asynccontextmanager
async def running(
    accounts: Iterable[AccountConfig],
    *,
    seed: int = 7,
    max_concurrent_requests: int = 8,
    behaviour: dict[str, Behaviour] | None = None,
    clock: FakeClock | None = None,
) -> AsyncIterator[tuple[Scheduler, FakeClock, FakePolls, SnapshotStore]]:
    """The scheduler polling ``accounts``; pass ``clock`` when a behaviour needs it."""
    clock = clock or FakeClock()
    polls = FakePolls(clock)
    polls.behaviour.update(behaviour or {})
    store = SnapshotStore()
    scheduler = Scheduler(
        store,
        clock,
        max_concurrent_requests=max_concurrent_requests,
        rng=seeded(seed),
        poll_function=polls,
    )
    accounts = list(accounts)
    await scheduler.apply(accounts, max_concurrent_requests)
    await clock.wait_for_sleepers(len(accounts))
    try:
        yield scheduler, clock, polls, store
    finally:
        await scheduler.stop()


def assert_on_slots(times: list[float], name: str, interval: float) -> None:
    """Every poll lies on the account's slot, its phase past a multiple of the interval on the
    wall clock, and no slot is skipped between two of them: no drift, ever."""
    offset = phase(name, interval)
    for when in times:
        off = (EPOCH + when - offset) % interval
        assert min(off, interval - off) <= 1e-4, f"poll at {when} is {off:.3f}s off its slot"
    for earlier, later in itertools.pairwise(times):
        assert later - earlier == pytest.approx(interval, abs=1e-4)


# The fake clock itself


async def test_fake_clock_wakes_sleepers_in_deadline_order_at_their_deadlines() -> None:
    clock = FakeClock()
    woken: list[tuple[str, float]] = []

    async def sleeper(name: str, *pauses: float) -> None:
        for pause in pauses:
            await clock.sleep(pause)
            woken.append((name, clock.monotonic()))

    tasks = [
        asyncio.create_task(sleeper("late", 30.0)),
        asyncio.create_task(sleeper("chain", 5.0, 5.0, 5.0)),
        asyncio.create_task(sleeper("early", 1.0)),
    ]
    await clock.wait_for_sleepers(3)
    assert clock.deadlines() == [1.0, 5.0, 30.0]
    assert clock.time() == clock.monotonic() + 1_767_225_600.0

    await clock.advance(20.0)
    assert woken == [("early", 1.0), ("chain", 5.0), ("chain", 10.0), ("chain", 15.0)]
    assert clock.monotonic() == 20.0
    assert clock.sleeping == 1

    tasks[0].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert clock.sleeping == 0
    await clock.advance(100.0)
    assert [name for name, _ in woken] == ["early", "chain", "chain", "chain"]


async def test_fake_clock_wait_for_sleepers_fails_after_its_real_deadline() -> None:
    clock = FakeClock()
    with pytest.raises(AssertionError, match="expected 1 sleeping task"):
        await clock.wait_for_sleepers(1, deadline=0.05)


# Start-up


async def test_first_polls_are_spread_over_the_first_seconds() -> None:
    names = [f"acct-{i}" for i in range(20)]
    async with running(account(name, 300.0) for name in names) as (_, clock, polls, _store):
        assert clock.sleeping == 20
        assert sum(polls.count(name) for name in names) == 0  # nothing at t=0

        await clock.advance(START_SPREAD)

        firsts = [polls.calls[name][0] for name in names]
        assert [polls.count(name) for name in names] == [1] * 20
        assert all(0.0 < when <= START_SPREAD for when in firsts)
        assert len(set(firsts)) == 20
        assert max(firsts) - min(firsts) >= START_SPREAD / 2


async def test_first_polls_spread_within_a_short_interval() -> None:
    names = [f"fast-{i}" for i in range(10)]
    async with running(account(name, 4.0) for name in names) as (_, clock, polls, _store):
        assert all(deadline <= 4.0 for deadline in clock.deadlines())
        await clock.advance(4.0)
        assert all(polls.count(name) >= 1 for name in names)


# The healthy grid


async def test_healthy_account_gets_one_poll_per_interval() -> None:
    async with running([account("steady", 60.0)]) as (_, clock, polls, _store):
        await clock.advance(50 * 60.0)
        assert polls.count("steady") in (49, 50, 51)


async def test_healthy_polls_fall_on_the_accounts_slot_without_drift() -> None:
    async with running([account("steady", 60.0)]) as (_, clock, polls, _store):
        (first,) = clock.deadlines()
        await clock.advance_to(first + 49.5 * 60.0)

        times = polls.calls["steady"]
        assert times[0] == pytest.approx(first)
        assert len(times) in (49, 50)
        assert times[1] - times[0] >= 54.0  # never two polls closer than 90% of the interval
        assert_on_slots(times[1:], "steady", 60.0)


async def test_accounts_poll_on_the_same_slots_after_a_restart() -> None:
    names = [f"acct-{i}" for i in range(30)]
    seen = []
    for seed in (1, 2):  # two processes, each its own random start
        async with running([account(name) for name in names], seed=seed) as (
            _,
            clock,
            polls,
            _store,
        ):
            await clock.advance(3 * 60.0)
            seen.append({name: (EPOCH + polls.calls[name][-1]) % 60.0 for name in names})
    assert seen[0] == pytest.approx(seen[1])


async def test_many_accounts_are_polled_evenly_over_the_interval() -> None:
    names = [f"account-{i:04d}" for i in range(1_200)]
    async with running(account(name) for name in names) as (_, clock, polls, _store):
        await clock.advance(3 * 60.0)
        # After the first interval every second carries about 20 polls, none twice that.
        per_second = Counter(
            int(when) for name in names for when in polls.calls[name] if when >= 60.0
        )
        counts = [per_second.get(second, 0) for second in range(60, 180)]
        mean = sum(counts) / len(counts)
        assert mean == pytest.approx(1_200 / 60.0, rel=0.05)
        assert max(counts) <= 2 * mean


async def test_slow_polls_do_not_make_the_grid_drift() -> None:
    clock = FakeClock()
    accounts = [account("slow", 60.0)]
    behaviour = {"slow": takes(clock, 20.0)}
    async with running(accounts, behaviour=behaviour, clock=clock) as (_, _, polls, _store):
        (first,) = clock.deadlines()
        await clock.advance_to(first + 29.5 * 60.0)

        times = polls.calls["slow"]
        assert len(times) in (29, 30)  # a sleep(interval) after each poll would have made 23
        assert_on_slots(times[1:], "slow", 60.0)


async def test_slots_missed_by_a_hanging_poll_are_skipped_not_caught_up() -> None:
    release = asyncio.Event()

    async def blocks_once(call: int) -> Reading:
        if call == 1:
            await release.wait()
        return reading()

    async with running([account("stuck", 60.0)], behaviour={"stuck": blocks_once}) as (
        _,
        clock,
        polls,
        store,
    ):
        await clock.advance(START_SPREAD)
        await clock.advance(330.0)  # five and a half intervals with the poll still running
        assert polls.count("stuck") == 1
        assert polls.in_flight["stuck"] == 1

        release.set()
        await settle()
        assert polls.count("stuck") == 1  # no burst to catch up the missed slots
        assert store.state("stuck").up is True

        await clock.advance(60.0)
        assert polls.count("stuck") == 2
        assert_on_slots([polls.calls["stuck"][1]], "stuck", 60.0)
        assert polls.peak_per_account["stuck"] == 1


async def test_never_two_polls_in_flight_for_one_account() -> None:
    clock = FakeClock()
    names = ["one", "two", "three"]
    behaviour = dict.fromkeys(names, takes(clock, 150.0))  # longer than the interval
    accounts = [account(name, 60.0) for name in names]
    async with running(accounts, behaviour=behaviour, clock=clock) as (_, _, polls, _store):
        await clock.advance(20 * 60.0)

        for name in names:
            assert polls.peak_per_account[name] == 1
            assert polls.count(name) >= 5
            assert all(gap >= 150.0 for gap in polls.gaps(name))
        assert polls.peak_total == 3  # the accounts do overlap one another


async def test_global_cap_on_concurrent_requests_holds_across_accounts() -> None:
    clock = FakeClock()
    names = [f"acct-{i}" for i in range(20)]
    behaviour = dict.fromkeys(names, takes(clock, 30.0))
    async with running(
        [account(name, 60.0) for name in names],
        max_concurrent_requests=3,
        behaviour=behaviour,
        clock=clock,
    ) as (_, _, polls, _store):
        await clock.advance(15.0)
        assert polls.in_flight.total() == 3

        await clock.advance(600.0)
        assert polls.peak_total == 3
        assert all(polls.count(name) >= 1 for name in names)  # the cap queues, never starves


# Failures and backoff


async def test_consecutive_failures_back_off_exponentially_up_to_the_cap() -> None:
    async with running([account("down", 60.0)], behaviour={"down": failing()}) as (
        _,
        clock,
        polls,
        store,
    ):
        await clock.advance(START_SPREAD + 20_000.0)

        expected = [60.0, 120.0, 240.0, 480.0, 960.0, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF]
        gaps = polls.gaps("down")
        assert len(gaps) >= len(expected)
        for gap, base in zip(gaps, expected, strict=False):
            assert base - EPS <= gap <= base * (1 + JITTER) + EPS
        assert all(MAX_BACKOFF - EPS <= gap <= MAX_BACKOFF * (1 + JITTER) + EPS for gap in gaps[5:])
        state = store.state("down")
        assert state.up is False
        assert state.failure_count(Reason.SERVER_ERROR) == polls.count("down")


async def test_backoff_never_shorter_than_a_long_interval() -> None:
    hour = 3600.0
    async with running([account("hourly", hour)], behaviour={"hourly": failing()}) as (
        _,
        clock,
        polls,
        _store,
    ):
        await clock.advance(START_SPREAD + 10 * hour)
        gaps = polls.gaps("hourly")
        assert len(gaps) >= 8
        assert all(hour - EPS <= gap <= hour * (1 + JITTER) + EPS for gap in gaps)


@pytest.mark.parametrize(
    ("reason", "retry_after"),
    [(reason, None) for reason in Reason] + [(Reason.RATE_LIMITED, 1.0)],
)
async def test_a_failing_account_never_gets_more_requests_than_a_healthy_one(
    reason: Reason, retry_after: float | None
) -> None:
    accounts = [account("good", 60.0), account("bad", 60.0)]
    async with running(accounts, behaviour={"bad": failing(reason, retry_after)}) as (
        _,
        clock,
        polls,
        _store,
    ):
        await clock.advance(24 * 3600.0)
        assert polls.count("good") in (1439, 1440, 1441)
        assert polls.count("bad") <= polls.count("good")
        assert all(gap >= 60.0 - EPS for gap in polls.gaps("bad"))


@pytest.mark.parametrize(
    ("failures_before", "retry_after", "low", "high"),
    [
        (0, 600.0, 600.0, 600.0),  # longer than the backoff: honoured exactly
        (0, 10.0, 60.0, 63.0),  # shorter than the backoff: ignored
        (2, 1000.0, 1000.0, 1000.0),  # third failure, backoff 240s: the longer ask wins
        (2, 200.0, 240.0, 252.0),  # third failure: a shorter ask is ignored
    ],
)
async def test_retry_after_is_honoured_only_when_longer_than_the_backoff(
    failures_before: int, retry_after: float, low: float, high: float
) -> None:
    plain = PollError(Reason.SERVER_ERROR, "unavailable", status=503)
    limited = PollError(Reason.RATE_LIMITED, "slow down", status=429, retry_after=retry_after)
    behaviour = scripted(*[plain] * failures_before, limited, reading())
    async with running([account("limited", 60.0)], behaviour={"limited": behaviour}) as (
        _,
        clock,
        polls,
        _store,
    ):
        await clock.advance(START_SPREAD + 60.0 + 120.0 + 1100.0)
        gap = polls.gaps("limited")[failures_before]
        assert low - EPS <= gap <= high + EPS


async def test_recovery_resumes_the_normal_interval() -> None:
    failure = PollError(Reason.NETWORK, "connection refused")
    behaviour = scripted(failure, failure, failure, reading("42.00"))
    async with running([account("flaky", 60.0)], behaviour={"flaky": behaviour}) as (
        _,
        clock,
        polls,
        store,
    ):
        await clock.advance(START_SPREAD + 60.0 * 1.05 + 120.0 * 1.05 + 240.0 * 1.05)
        assert polls.count("flaky") == 4
        gaps = polls.gaps("flaky")
        for gap, base in zip(gaps, [60.0, 120.0, 240.0], strict=True):
            assert base - EPS <= gap <= base * (1 + JITTER) + EPS
        recovered = polls.calls["flaky"][3]
        state = store.state("flaky")
        assert state.up is True
        assert state.money is not None
        assert state.money.balance == Decimal("42.00")

        await clock.advance_to(recovered + 20.5 * 60.0)
        assert polls.count("flaky") in (4 + 19, 4 + 20)
        assert_on_slots(polls.calls["flaky"][4:], "flaky", 60.0)


async def test_the_state_says_when_the_next_poll_comes() -> None:  # the landing page shows it
    failure = PollError(Reason.SERVER_ERROR, "unavailable", status=503, retry_after=500.0)
    behaviour = scripted(reading(), failure, failure, reading())
    async with running([account("acct", 60.0)], behaviour={"acct": behaviour}) as (
        _,
        clock,
        polls,
        store,
    ):
        for polled in range(5):  # the first poll's time is known from the start
            due = store.state("acct").next_poll
            assert due is not None
            await clock.advance_to(due - EPOCH - EPS)
            assert polls.count("acct") == polled  # not a moment early
            await clock.advance_to(due - EPOCH + EPS)
            assert polls.count("acct") == polled + 1
            assert EPOCH + polls.calls["acct"][-1] == pytest.approx(due, abs=1e-6)
        # After a failure that asked for a longer wait, the next try is that much later.
        assert polls.gaps("acct")[1] >= 500.0 - EPS


async def test_a_failure_after_recovery_starts_the_backoff_afresh() -> None:
    failure = PollError(Reason.SERVER_ERROR, "unavailable", status=503)
    behaviour = scripted(failure, failure, reading(), failure, reading())
    async with running([account("flaky", 60.0)], behaviour={"flaky": behaviour}) as (
        _,
        clock,
        polls,
        _store,
    ):
        await clock.advance(START_SPREAD + 60.0 * 1.05 + 120.0 * 1.05 + 114.0 + 60.0 * 1.05)
        assert polls.count("flaky") >= 5
        # After the success, the account's slot: 0.9 to 1.9 intervals later.
        low_high = [(60.0, 63.0), (120.0, 126.0), (54.0, 114.0), (60.0, 63.0)]
        for gap, (low, high) in zip(polls.gaps("flaky")[:4], low_high, strict=True):
            assert low - EPS <= gap <= high + EPS


async def test_one_account_hanging_or_failing_never_delays_another() -> None:
    def buggy(call: int) -> Awaitable[Reading]:
        raise RuntimeError("a bug")

    behaviour: dict[str, Behaviour] = {
        "hung": hangs,
        "down": failing(Reason.TIMEOUT),
        "buggy": buggy,
    }
    accounts = [account(name, 60.0) for name in ("hung", "down", "buggy", "good")]
    # With a cap of 2 the hanging poll holds half the capacity for the whole test.
    async with running(accounts, max_concurrent_requests=2, behaviour=behaviour) as (
        _,
        clock,
        polls,
        _store,
    ):
        await clock.advance(START_SPREAD)
        good_first = polls.calls["good"][0]
        await clock.advance_to(good_first + 49.5 * 60.0)

        assert polls.count("hung") == 1
        assert polls.in_flight["hung"] == 1
        assert polls.count("good") in (49, 50)
        assert_on_slots(polls.calls["good"][1:], "good", 60.0)
        assert polls.count("buggy") >= 5  # its loop survives the bug


async def test_a_bug_in_a_poll_costs_one_poll_not_the_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    behaviour = scripted(RuntimeError(f"bug near {CANARY}"), KeyError("balance"), reading("7.50"))
    async with running([account("buggy", 60.0)], behaviour={"buggy": behaviour}) as (
        _,
        clock,
        polls,
        store,
    ):
        await clock.advance(START_SPREAD)
        assert polls.count("buggy") == 1
        state = store.state("buggy")
        assert state.up is False  # the attempt is recorded like any failed poll
        assert state.polls == 1
        assert state.failure_count(Reason.INVALID_RESPONSE) == 1
        assert state.last_error is not None
        assert CANARY not in state.last_error
        assert store.snapshot.ready

        await clock.advance(60.0 * 1.05 + 120.0 * 1.05)
        assert polls.count("buggy") == 3
        state = store.state("buggy")
        assert state.up is True
        assert state.money is not None
        assert state.money.balance == Decimal("7.50")
        assert state.polls == 3
        assert state.failure_count(Reason.INVALID_RESPONSE) == 2
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert [record.getMessage() for record in errors] == ["internal error while polling"] * 2
    assert errors[0].__dict__["error"] == "RuntimeError: bug near ********"
    for record in caplog.records:
        assert CANARY not in repr(record.__dict__)


async def test_a_note_on_an_answer_is_logged_once_and_again_when_it_changes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    postpaid = Reading(currency="EUR", note="postpaid: no balance")
    behaviour = scripted(
        postpaid, postpaid, postpaid, reading(), Reading(currency="EUR", note="other")
    )
    async with running([account("noted", 60.0)], behaviour={"noted": behaviour}) as (
        _,
        clock,
        polls,
        store,
    ):
        await clock.advance(START_SPREAD + 5 * 60.0 * 1.05)
        assert polls.count("noted") >= 5
        assert store.state("noted").note == "other"
    notes = [
        r.getMessage()
        for r in caplog.records
        if r.getMessage() in ("postpaid: no balance", "other")
    ]
    assert notes == ["postpaid: no balance", "other"]


# Reloads and stopping


async def test_apply_keeps_unchanged_accounts_restarts_changed_and_stops_removed() -> None:
    a, b, c = account("a", 60.0), account("b", 60.0), account("c", 60.0)
    async with running([a, b, c]) as (scheduler, clock, polls, store):
        await clock.advance_to(150.0)  # a's slots are 47.5 s past the minute, b's 14.6, c's 10.9
        assert [polls.count(name) for name in "abc"] == [2, 3, 3]
        a_state = store.state("a")

        changed_b = account("b", 60.0, key=CANARY + "-rotated")
        d = account("d", 60.0)
        await scheduler.apply([a, changed_b, d], 8)
        await clock.wait_for_sleepers(3)

        await clock.advance(START_SPREAD)
        assert polls.count("a") == 2  # still waiting for its own slot: not restarted
        assert polls.count("b") == 4  # restarted: polled again within the start spread
        assert polls.count("d") == 1  # added
        assert store.state("a").polls == a_state.polls  # state kept

        await clock.advance(20 * 60.0)
        assert polls.count("c") == 3  # stopped
        assert_on_slots(polls.calls["a"][1:], "a", 60.0)
        names = {state.name for state in store.snapshot.accounts}
        assert names == {"a", "b", "d"}
        exported = {
            sample.labels.get("account")
            for family in families(store.snapshot)
            for sample in family.samples
        }
        assert "c" not in exported
        assert {"a", "b", "d"} <= exported


async def test_apply_with_the_same_config_restarts_nothing() -> None:
    accounts = [account("a", 60.0), account("b", 60.0)]
    async with running(accounts) as (scheduler, clock, polls, _store):
        await clock.advance_to(150.0)
        before = {name: polls.count(name) for name in "ab"}

        await scheduler.apply([account("a", 60.0), account("b", 60.0)], 8)
        await clock.advance(START_SPREAD)

        assert {name: polls.count(name) for name in "ab"} == before


async def test_a_poll_in_flight_for_a_removed_account_is_cancelled_and_stays_removed() -> None:
    async with running(
        [account("gone", 60.0), account("kept", 60.0)], behaviour={"gone": hangs}
    ) as (
        scheduler,
        clock,
        polls,
        store,
    ):
        await clock.advance(START_SPREAD)
        assert polls.in_flight["gone"] == 1

        await scheduler.apply([account("kept", 60.0)], 8)
        await settle()

        assert polls.cancelled == ["gone"]
        assert polls.in_flight["gone"] == 0
        assert [state.name for state in store.snapshot.accounts] == ["kept"]


async def test_a_new_cap_applies_to_later_polls() -> None:
    clock = FakeClock()
    accounts = [account(f"acct-{i}", 60.0) for i in range(6)]
    behaviour = {acct.name: takes(clock, 30.0) for acct in accounts}
    async with running(accounts, max_concurrent_requests=4, behaviour=behaviour, clock=clock) as (
        scheduler,
        _,
        polls,
        _store,
    ):
        await clock.advance(120.0)
        assert polls.peak_total == 4

        await scheduler.apply(accounts, 1)
        polls.peak_total = polls.in_flight.total()
        await clock.advance(100.0)  # polls started under the old cap have finished by now
        polls.peak_total = polls.in_flight.total()
        await clock.advance(600.0)
        assert polls.peak_total == 1


async def test_stop_cancels_everything() -> None:
    accounts = [account("idle", 60.0), account("busy", 60.0)]
    async with running(accounts, behaviour={"busy": hangs}) as (scheduler, clock, polls, _store):
        await clock.advance(START_SPREAD)
        assert polls.in_flight["busy"] == 1
        assert clock.sleeping == 1

        await scheduler.stop()

        assert polls.cancelled == ["busy"]
        assert clock.sleeping == 0
        before = {name: len(times) for name, times in polls.calls.items()}
        await clock.advance(3600.0)
        assert {name: len(times) for name, times in polls.calls.items()} == before
