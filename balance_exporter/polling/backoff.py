"""When to poll next: the account's own slot in each interval while healthy, exponential
backoff while failing.

Every account has a phase, a point in the interval derived from its name: healthy polls fall
on the wall-clock times that are that phase past a multiple of the interval. Names spread
evenly, so 10,000 accounts at 60 s give an even ~167 requests a second, the same after a
restart. The first poll comes within the first seconds, so that no account waits an interval
for its first reading; the second waits for the account's slot (most of an interval later).

The rule: a failing provider never receives more requests than a healthy one. Every
failure delay is at least the interval, and at least what the provider asked for.
"""

from __future__ import annotations

import random

from balance_exporter.config.sharding import NAME_HASH_BITS, name_hash
from balance_exporter.polling.errors import PollError

JITTER = 0.05  # fraction of the interval a retry may come later than its backoff
MAX_BACKOFF = 1800.0  # longest pause between tries while failing (unless the interval is longer)
START_SPREAD = 5.0  # first polls are spread over this many seconds
MIN_GAP = 0.9  # fraction of the interval between two polls of an account, at the least


def first_delay(interval: float, rng: random.Random) -> float:
    """Spread first polls so that many accounts never start as one burst."""
    return rng.uniform(0.0, min(START_SPREAD, interval))


def phase(name: str, interval: float) -> float:
    """Where in each interval an account's polls fall: from its name, so stable across
    restarts and evenly spread (never Python's hash(), which changes per process)."""
    return name_hash(name) / 2.0**NAME_HASH_BITS * interval


def next_slot(started: float, now: float, offset: float, interval: float) -> float:
    """The wall-clock time of the account's next slot, ``offset`` past a multiple of
    ``interval``: the first one at least MIN_GAP intervals after the last poll ``started``
    (two requests of one account are never closer than that) and not before ``now``.

    The slots do not drift, so over N intervals an account gets N polls, give or take one;
    slots missed while a poll hung are skipped, never caught up in a burst."""
    earliest = max(started + MIN_GAP * interval, now)
    slot = (earliest - offset) // interval * interval + offset
    return slot if slot >= earliest else slot + interval


def failure_delay(
    interval: float, consecutive_failures: int, requested: float | None, rng: random.Random
) -> float:
    """Pause before the next try after ``consecutive_failures`` (>= 1) failures in a row."""
    backoff = interval * 2.0 ** min(consecutive_failures - 1, 20)
    backoff = min(backoff, max(interval, MAX_BACKOFF))
    # Jitter only ever makes it later: it spreads retries, never hastens them.
    backoff *= 1.0 + rng.uniform(0.0, JITTER)
    return max(backoff, requested or 0.0)


class Cadence:
    """One account's polls over time: when the next one is due after each outcome. Its slot
    while healthy; while failing, a pause that grows with the failures in a row."""

    def __init__(self, interval: float, offset: float, rng: random.Random) -> None:
        self.interval = interval
        self.offset = offset
        self.rng = rng
        self.failures = 0  # consecutive failed polls
        self.due: float | None = None  # wall-clock time of the next poll, once planned

    def plan(self, started: float, failure: PollError | None, now: float) -> float:
        """The next poll's time after one that began at ``started`` and ended ``now``, having
        failed with ``failure`` (None: it succeeded)."""
        if failure is not None:
            self.failures += 1
            delay = failure_delay(self.interval, self.failures, failure.retry_after, self.rng)
            self.due = now + delay
        else:
            self.failures = 0
            self.due = next_slot(started, now, self.offset, self.interval)
        return self.due
