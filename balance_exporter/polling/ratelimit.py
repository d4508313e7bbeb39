"""How long a provider asked us to wait, from whichever header it used."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime

# Longest wait we accept from a header: protects against a bogus far-future date.
MAX_WAIT = 24 * 3600.0
# Beyond these a reset value is an epoch time, not a delta: in seconds, then milliseconds.
EPOCH_SECONDS = 1e9
EPOCH_MILLISECONDS = 1e12


def requested_wait(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait from Retry-After (seconds or HTTP date), retry-after-ms or a reset header.

    The longest of those present wins; ``now`` is the wall clock, for HTTP dates.
    """
    waits = [
        wait
        for wait in (
            _seconds(headers.get("Retry-After"), now),
            _milliseconds(headers.get("retry-after-ms")),
            _seconds(headers.get("x-ratelimit-reset"), now),
            _seconds(headers.get("ratelimit-reset"), now),
        )
        if wait is not None
    ]
    return min(max(waits), MAX_WAIT) if waits else None


def _seconds(value: str | None, now: float) -> float | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:  # "-0000" or no zone: HTTP dates are GMT, never local time
            moment = moment.replace(tzinfo=UTC)
        return max(0.0, moment.timestamp() - now)
    if not _plausible(seconds):
        return None
    # Some providers send the reset as an epoch timestamp rather than a delta, and some of
    # those in milliseconds (1479308598680).
    if seconds > EPOCH_MILLISECONDS:
        return max(0.0, seconds / 1000.0 - now)
    if seconds > EPOCH_SECONDS:
        return max(0.0, seconds - now)
    return seconds


def _milliseconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        milliseconds = float(value.strip())
    except ValueError:
        return None
    return milliseconds / 1000.0 if _plausible(milliseconds) else None


def _plausible(wait: float) -> bool:
    return math.isfinite(wait) and wait >= 0
