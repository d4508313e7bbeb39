"""How long a provider asked us to wait: balance_exporter.polling.ratelimit.requested_wait."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from email.utils import formatdate

import pytest
from multidict import CIMultiDict

from balance_exporter.polling.ratelimit import MAX_WAIT, requested_wait

NOW = 1_770_000_000.0  # 2026-02-02 02:40:00 UTC


def wait(now: float = NOW, **headers: str) -> float | None:
    # Keyword arguments cannot hold dashes: retry_after_ms stands for retry-after-ms.
    return requested_wait(
        CIMultiDict({key.replace("_", "-"): value for key, value in headers.items()}), now
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("1", 1.0),
        ("120", 120.0),
        (" 30 ", 30.0),
        ("2.5", 2.5),
        ("86400", 86400.0),
    ],
)
def test_retry_after_in_seconds(value: str, expected: float) -> None:
    assert wait(Retry_After=value) == expected


def test_retry_after_as_http_date() -> None:
    assert wait(Retry_After=formatdate(NOW + 90, usegmt=True)) == 90.0


def test_retry_after_http_date_is_relative_to_the_given_now() -> None:
    date = formatdate(NOW + 90, usegmt=True)

    assert wait(NOW + 30, Retry_After=date) == 60.0
    assert wait(NOW - 10, Retry_After=date) == 100.0


@pytest.mark.parametrize(
    "value",
    [
        "Mon, 02 Feb 2026 02:42:00 GMT",
        "Monday, 02-Feb-26 02:42:00 GMT",
        "Mon Feb  2 02:42:00 2026",
        "Mon, 02 Feb 2026 03:42:00 +0100",
    ],
)
def test_retry_after_in_every_http_date_form(value: str) -> None:
    assert wait(Retry_After=value) == 120.0


def test_retry_after_date_without_a_zone_is_gmt_whatever_the_local_zone(
    far_local_zone: None,
) -> None:
    # RFC 9110 dates are GMT; "-0000" and zone-less forms must not be read as local time.
    assert wait(Retry_After="Mon, 02 Feb 2026 02:42:00 -0000") == 120.0
    assert wait(Retry_After="Mon Feb  2 02:42:00 2026") == 120.0
    assert wait(Retry_After="Mon, 02 Feb 2026 02:42:00 GMT") == 120.0


@pytest.fixture
def far_local_zone() -> Iterator[None]:
    """The process's local time zone set nine hours away from UTC, and restored after."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "XST+09"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_retry_after_date_in_the_past_means_no_wait() -> None:
    assert wait(Retry_After=formatdate(NOW - 3600, usegmt=True)) == 0.0


@pytest.mark.parametrize(("value", "expected"), [("1500", 1.5), ("0", 0.0), (" 250.5 ", 0.2505)])
def test_retry_after_ms(value: str, expected: float) -> None:
    assert wait(retry_after_ms=value) == expected


@pytest.mark.parametrize(("value", "expected"), [("60", 60.0), ("0", 0.0), ("1.5", 1.5)])
def test_ratelimit_reset_in_seconds(value: str, expected: float) -> None:
    assert wait(x_ratelimit_reset=value) == expected
    assert wait(ratelimit_reset=value) == expected


def test_ratelimit_reset_as_epoch_timestamp() -> None:
    assert wait(x_ratelimit_reset=str(int(NOW) + 45)) == 45.0
    assert wait(x_ratelimit_reset=str(int(NOW) - 45)) == 0.0


def test_ratelimit_reset_as_epoch_milliseconds() -> None:
    # Read as seconds, 1479308598680 would be 46,000 years away: parked for the 24 h cap.
    assert wait(x_ratelimit_reset=str(int(NOW) * 1000 + 45_000)) == 45.0
    assert wait(x_ratelimit_reset=str(int(NOW) * 1000 - 45_000)) == 0.0
    assert wait(X_RateLimit_Reset="1479308598680") == 0.0  # an example from a provider, past
    assert wait(ratelimit_reset=str(int(NOW * 1000) + 2_500)) == 2.5


def test_header_names_are_case_insensitive() -> None:
    headers = CIMultiDict({"RETRY-AFTER": "7", "X-RateLimit-Reset": "3"})

    assert requested_wait(headers, NOW) == 7.0


def test_the_longest_wait_wins() -> None:
    assert wait(Retry_After="10", retry_after_ms="20000", x_ratelimit_reset="15") == 20.0
    assert wait(Retry_After="40", retry_after_ms="20000", x_ratelimit_reset="15") == 40.0
    assert wait(Retry_After="5", ratelimit_reset="50") == 50.0


def test_garbage_does_not_hide_a_good_header() -> None:
    assert wait(Retry_After="soon", x_ratelimit_reset="12") == 12.0
    assert wait(Retry_After="12", retry_after_ms="fast") == 12.0


def test_wait_is_capped() -> None:
    assert MAX_WAIT == 86400.0
    assert wait(Retry_After="999999") == MAX_WAIT
    assert wait(Retry_After=formatdate(NOW + 30 * 86400, usegmt=True)) == MAX_WAIT
    assert wait(retry_after_ms="999999999") == MAX_WAIT


def test_no_header_means_no_request() -> None:
    assert wait() is None
    assert requested_wait(CIMultiDict({"Content-Type": "application/json"}), NOW) is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "soon",
        "-1",
        "-0.5",
        "nan",
        "NaN",
        "inf",
        "Infinity",
        "-inf",
        "1e400",
        "0x10",
        "10 seconds",
        "Mon, 32 Feb 2026 02:42:00 GMT",
        "Mon, 02 Foo 2026 02:42:00 GMT",
        "2026-02-02T02:42:00Z",
        "\x00",
    ],
)
def test_garbage_is_ignored(value: str) -> None:
    assert wait(Retry_After=value) is None
    assert wait(retry_after_ms=value) is None
    assert wait(x_ratelimit_reset=value) is None
    assert wait(ratelimit_reset=value) is None
