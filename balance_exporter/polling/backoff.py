"""When to poll next: a steady grid while healthy, exponential backoff while failing.

The rule: a failing provider never receives more requests than a healthy one. Every
failure delay is at least the interval, and at least what the provider asked for.
"""

from __future__ import annotations

import random

JITTER = 0.05  # fraction of the interval a poll may move either side of its grid slot
MAX_BACKOFF = 1800.0  # longest pause between tries while failing (unless the interval is longer)
START_SPREAD = 10.0  # first polls are spread over this many seconds


def first_delay(interval: float, rng: random.Random) -> float:
    """Spread first polls so that many accounts never start as one burst."""
    return rng.uniform(0.0, min(START_SPREAD, interval))


def next_healthy(
    due: float, interval: float, now: float, rng: random.Random
) -> tuple[float, float]:
    """The next grid slot after ``now`` and when to wake for it (the slot moved by jitter).

    The grid does not drift, so over N intervals an account gets N polls, give or take one;
    slots missed while a poll hung are skipped, never caught up in a burst.
    """
    slot = due + interval
    if slot <= now:
        slot += interval * ((now - slot) // interval + 1)
    wake = slot + rng.uniform(-JITTER, JITTER) * interval
    return slot, max(wake, now)


def failure_delay(
    interval: float, consecutive_failures: int, requested: float | None, rng: random.Random
) -> float:
    """Pause before the next try after ``consecutive_failures`` (>= 1) failures in a row."""
    backoff = interval * 2.0 ** min(consecutive_failures - 1, 20)
    backoff = min(backoff, max(interval, MAX_BACKOFF))
    # Jitter only ever makes it later: it spreads retries, never hastens them.
    backoff *= 1.0 + rng.uniform(0.0, JITTER)
    return max(backoff, requested or 0.0)
