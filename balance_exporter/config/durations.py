"""Durations in the Prometheus style: 30s, 5m, 1h30m, 500ms."""

from __future__ import annotations

import re

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_PATTERN = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")


def parse_duration(text: str) -> float:
    """Seconds in ``text``; ValueError for anything that is not a positive duration."""
    match = _PATTERN.match(text.strip())
    if not text.strip() or match is None:
        raise ValueError(f"{text[:40]!r} is not a duration like 30s, 5m or 1h")
    seconds = sum(
        int(amount) * _UNITS[unit]
        for amount, unit in zip(match.groups(), ("d", "h", "m", "s", "ms"), strict=True)
        if amount is not None
    )
    if seconds <= 0:
        raise ValueError(f"{text[:40]!r} must be longer than zero")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest readable form, exact to the millisecond, that parse_duration reads back."""
    millis = round(seconds * 1000)
    if millis < 1000:
        return f"{millis}ms"
    parts = []
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        if millis >= size:
            parts.append(f"{millis // size}{unit}")
            millis %= size
    return "".join(parts)
