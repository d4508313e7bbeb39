"""Durations in the Prometheus style: parsing, refusals and the readable form."""

from __future__ import annotations

import pytest

from balance_exporter.config.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1d", 86400.0),
        ("500ms", 0.5),
        ("1h30m", 5400.0),
        ("1d2h3m4s5ms", 93784.005),
        ("90s", 90.0),
        ("120m", 7200.0),
        (" 5m ", 300.0),
        ("0h1s", 1.0),
    ],
)
def test_parse(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    ["", " ", "5", "300", "5 m", "5M", "1.5m", "-5m", "+5m", "m", "5min", "30s5m", "5m5m", "1w"],
)
def test_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration like 30s, 5m or 1h") as caught:
        parse_duration(text)
    assert str(caught.value) == f"{text!r} is not a duration like 30s, 5m or 1h"


@pytest.mark.parametrize("text", ["0s", "0ms", "0h0m", "0d"])
def test_zero_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="must be longer than zero") as caught:
        parse_duration(text)
    assert str(caught.value) == f"{text!r} must be longer than zero"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.5, "500ms"),
        (0.0015, "2ms"),
        (1.0, "1s"),
        (1.5, "1s500ms"),
        (59.6, "59s600ms"),
        (60.0, "1m"),
        (90.0, "1m30s"),
        (300.0, "5m"),
        (3600.0, "1h"),
        (3661.0, "1h1m1s"),
        (5400.0, "1h30m"),
        (86400.0, "24h"),
        (0.9996, "1s"),
    ],
)
def test_format(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    "text", ["1ms", "999ms", "1s", "1s1ms", "59s", "1m", "1m1s", "1h", "1h59m59s999ms", "36h"]
)
def test_format_reads_back(text: str) -> None:
    assert format_duration(parse_duration(text)) == text
