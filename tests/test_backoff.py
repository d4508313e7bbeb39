"""The timing rules on their own: start spread, the healthy grid, failure backoff."""

from __future__ import annotations

import random

import pytest
from fakeclock import seeded

from balance_exporter.polling.backoff import (
    JITTER,
    MAX_BACKOFF,
    START_SPREAD,
    failure_delay,
    first_delay,
    next_healthy,
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
    assert (JITTER, MAX_BACKOFF, START_SPREAD) == (0.05, 1800.0, 10.0)


@pytest.mark.parametrize(("interval", "spread"), [(300.0, START_SPREAD), (4.0, 4.0)])
def test_first_delay_spreads_over_the_start_window(interval: float, spread: float) -> None:
    rng = seeded(3)
    delays = [first_delay(interval, rng) for _ in range(200)]
    assert all(0.0 <= delay <= spread for delay in delays)
    assert min(delays) < spread * 0.1
    assert max(delays) > spread * 0.9
    assert first_delay(interval, HIGH) == spread
    assert first_delay(interval, LOW) == 0.0


def test_next_healthy_takes_the_next_grid_slot_with_jitter_either_way() -> None:
    assert next_healthy(100.0, 60.0, 101.0, HIGH) == (160.0, 163.0)
    assert next_healthy(100.0, 60.0, 101.0, LOW) == (160.0, 157.0)


def test_next_healthy_does_not_drift_with_slow_polls() -> None:
    # The poll for slot 100 finished at 130: the next slot is still 160.
    slot, wake = next_healthy(100.0, 60.0, 130.0, LOW)
    assert slot == 160.0
    assert wake == 157.0


def test_next_healthy_skips_slots_missed_while_a_poll_hung() -> None:
    # Due at 0, the poll came back at 200: slots 60, 120 and 180 are gone; no catch-up burst.
    assert next_healthy(0.0, 60.0, 200.0, HIGH) == (240.0, 243.0)
    # Exactly on a slot boundary the next slot is the following one.
    assert next_healthy(0.0, 60.0, 120.0, HIGH) == (180.0, 183.0)


def test_next_healthy_never_wakes_in_the_past() -> None:
    slot, wake = next_healthy(0.0, 60.0, 59.0, LOW)
    assert slot == 60.0
    assert wake == 59.0  # the jittered 57 is already past: go now, not back in time


def test_next_healthy_jitter_stays_within_five_percent() -> None:
    rng = seeded(11)
    offsets = [next_healthy(0.0, 60.0, 1.0, rng)[1] - 60.0 for _ in range(500)]
    assert all(-3.0 <= offset <= 3.0 for offset in offsets)
    assert min(offsets) < -2.5
    assert max(offsets) > 2.5


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
