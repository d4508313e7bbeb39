"""The timing rules on their own: start spread, each account's slots, failure backoff."""

from __future__ import annotations

import hashlib
import random
from collections import Counter

import pytest
from fakeclock import seeded

from balance_exporter.polling.backoff import (
    JITTER,
    MAX_BACKOFF,
    MIN_GAP,
    START_SPREAD,
    failure_delay,
    first_delay,
    next_slot,
    phase,
)


class Edge(random.Random):
    """A random source pinned to one end of every range it is asked for."""

    def __init__(self, high: bool) -> None:
        super().__init__(0)
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a


LOW, HIGH = Edge(high=False), Edge(high=True)


def test_constants_are_the_documented_ones() -> None:
    assert (JITTER, MAX_BACKOFF, START_SPREAD) == (0.05, 1800.0, 5.0)


@pytest.mark.parametrize(("interval", "spread"), [(300.0, START_SPREAD), (4.0, 4.0)])
def test_first_delay_spreads_over_the_start_window(interval: float, spread: float) -> None:
    rng = seeded(3)
    delays = [first_delay(interval, rng) for _ in range(200)]
    assert all(0.0 <= delay <= spread for delay in delays)
    assert min(delays) < spread * 0.1
    assert max(delays) > spread * 0.9
    assert first_delay(interval, HIGH) == spread
    assert first_delay(interval, LOW) == 0.0


def test_next_slot_is_the_accounts_phase_past_a_multiple_of_the_interval() -> None:
    # Phase 10 in 60 s slots: 10, 70, 130 ... A poll started at 75: 54 s later is 129, so 130.
    assert next_slot(75.0, 75.5, 10.0, 60.0) == 130.0
    assert next_slot(16.0, 16.5, 10.0, 60.0) == 70.0  # exactly MIN_GAP later is allowed
    assert next_slot(17.0, 17.5, 10.0, 60.0) == 130.0  # 70 would be too soon after 17


def test_next_slot_does_not_drift_with_slow_polls() -> None:
    # The poll for slot 70 took 20 s: the next slot is still 130.
    assert next_slot(70.0, 90.0, 10.0, 60.0) == 130.0


def test_next_slot_skips_slots_missed_while_a_poll_hung() -> None:
    # The poll for slot 10 came back at 200: 70, 130 and 190 are gone; no catch-up burst.
    assert next_slot(10.0, 200.0, 10.0, 60.0) == 250.0


def test_two_polls_are_never_closer_than_most_of_an_interval() -> None:
    assert MIN_GAP == 0.9
    rng = seeded(5)
    for _ in range(500):
        started = rng.uniform(0.0, 1e9)
        offset = rng.uniform(0.0, 300.0)
        slot = next_slot(started, started + 1.0, offset, 300.0)
        assert 270.0 <= slot - started <= 570.0 + 1e-6
        position = (slot - offset) % 300.0
        assert min(position, 300.0 - position) == pytest.approx(0.0, abs=1e-3)


def test_phase_comes_from_the_name_alone() -> None:
    # Stable across processes and releases: a change of hash would move every account.
    assert phase("sms-main", 60.0) == pytest.approx(
        int.from_bytes(hashlib.sha256(b"sms-main").digest()[:8], "big") / 2**64 * 60.0
    )
    assert phase("sms-main", 60.0) == phase("sms-main", 60.0)
    assert 0.0 <= phase("sms-main", 60.0) < 60.0
    assert phase("sms-main", 120.0) == pytest.approx(2 * phase("sms-main", 60.0))


def test_phases_spread_evenly_over_the_interval() -> None:
    # 10,000 accounts at 60 s: every second of the interval gets about 167, none twice that.
    per_second = Counter(int(phase(f"account-{i:05d}", 60.0)) for i in range(10_000))
    mean = 10_000 / 60
    assert len(per_second) == 60
    assert max(per_second.values()) <= 1.3 * mean
    assert min(per_second.values()) >= 0.7 * mean


def test_failure_delay_doubles_from_the_interval_up_to_the_cap() -> None:
    delays = [failure_delay(60.0, failures, None, LOW) for failures in range(1, 10)]
    assert delays == [60.0, 120.0, 240.0, 480.0, 960.0, 1800.0, 1800.0, 1800.0, 1800.0]


def test_failure_delay_survives_a_very_long_outage() -> None:
    assert failure_delay(60.0, 10_000, None, LOW) == MAX_BACKOFF


def test_failure_delay_is_never_below_a_long_interval() -> None:
    assert [failure_delay(3600.0, failures, None, LOW) for failures in (1, 2, 5)] == [3600.0] * 3


def test_failure_jitter_only_ever_makes_the_pause_longer() -> None:
    assert failure_delay(60.0, 2, None, HIGH) == pytest.approx(120.0 * (1 + JITTER))
    rng = seeded(5)
    delays = [failure_delay(60.0, 1, None, rng) for _ in range(300)]
    assert all(60.0 <= delay <= 63.0 for delay in delays)
    assert max(delays) - min(delays) > 2.0


@pytest.mark.parametrize(
    ("failures", "requested", "expected"),
    [
        (1, 600.0, 600.0),  # longer than the backoff: honoured
        (1, 10.0, 60.0),  # shorter: the backoff stands
        (1, 0.0, 60.0),
        (3, 241.0, 241.0),
        (3, 239.0, 240.0),
        (9, 7200.0, 7200.0),  # even beyond the cap
    ],
)
def test_failure_delay_honours_a_longer_requested_wait(
    failures: int, requested: float, expected: float
) -> None:
    assert failure_delay(60.0, failures, requested, LOW) == expected
