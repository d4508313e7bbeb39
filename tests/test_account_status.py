"""What the landing page says of an account: its status as the metrics tell it, worst first,
the days its money lasts at the rate it was spent, and how amounts are written."""

from __future__ import annotations

from decimal import Decimal

import pytest

from balance_exporter.metrics.reading import Reading
from balance_exporter.metrics.snapshot import AccountState
from balance_exporter.polling.errors import PollError, Reason
from balance_exporter.web.money import format_amount
from balance_exporter.web.sparkline import sparkline
from balance_exporter.web.status import STALE_INTERVALS, Status, conditions, days_to_zero

T0 = 1_767_225_600.0
INTERVAL = 60.0


def state(low_balance: str | None = None) -> AccountState:
    threshold = None if low_balance is None else Decimal(low_balance)
    return AccountState("acct", "telnyx", INTERVAL, threshold)


def read(account: AccountState, balance: str, at: float = T0, **more: object) -> AccountState:
    reading = Reading(currency="USD", balance=Decimal(balance), **more)  # type: ignore[arg-type]
    return account.with_reading(reading, at, 0.1)


def failed(account: AccountState, at: float = T0) -> AccountState:
    return account.with_failure(PollError(Reason.AUTH, "bad key"), at, 0.1, next_poll=at + 60)


def test_statuses_are_listed_worst_first() -> None:
    assert [status.value for status in Status] == [
        "blocked",
        "below threshold",
        "failing",
        "stale",
        "degraded",
        "in setup",
        "waiting",
        "ok",
    ]
    assert [status.slug for status in Status][:2] == ["blocked", "below-threshold"]


@pytest.mark.parametrize(
    ("account", "expected"),
    [
        (state(), [Status.WAITING]),
        (read(state(), "50"), [Status.OK]),
        (read(state("100"), "100"), [Status.OK]),  # at the threshold is not below it
        (read(state("100"), "99.99"), [Status.BELOW_THRESHOLD]),
        (read(state(), "0", credit_blocked=True), [Status.BLOCKED]),
        (read(state(), "50", credit_blocked=False), [Status.OK]),
        (
            read(state("10"), "0", credit_blocked=True),
            [Status.BLOCKED, Status.BELOW_THRESHOLD],
        ),
        (failed(state()), [Status.FAILING]),
        (failed(read(state("100"), "20")), [Status.BELOW_THRESHOLD, Status.FAILING]),
        (state().with_reading(Reading(ready=False), T0, 0.1), [Status.SETUP]),
        (
            read(state(), "50").with_reading(
                Reading(currency="USD", degraded=True, degraded_reason="gateway partial"),
                T0 + 60,
                0.1,
            ),
            [Status.DEGRADED],
        ),
    ],
)
def test_the_status_follows_the_metrics(account: AccountState, expected: list[Status]) -> None:
    assert conditions(account, T0 + 60) == expected


def test_below_threshold_compares_the_available_credit_where_reported() -> None:
    # The alert rules' choice: balance -50 is fine with 450 of credit left over a threshold 100.
    with_credit = read(state("100"), "-50", available_credit=Decimal("450"))
    assert conditions(with_credit, T0) == [Status.OK]
    spent = read(state("100"), "-50", available_credit=Decimal("99"))
    assert conditions(spent, T0) == [Status.BELOW_THRESHOLD]


def test_an_account_without_a_trustworthy_reading_for_three_intervals_is_stale() -> None:
    account = read(state(), "50")
    limit = T0 + STALE_INTERVALS * INTERVAL
    assert conditions(account, limit) == [Status.OK]
    assert conditions(account, limit + 1) == [Status.STALE]
    degraded = account.with_reading(Reading(degraded=True), limit, 0.1)
    assert conditions(degraded, limit + 1) == [Status.STALE, Status.DEGRADED]
    failing = failed(account, limit)
    assert conditions(failing, limit + 1) == [Status.FAILING, Status.STALE]
    # An account in setup has no figures to be stale; one never polled has had no chance.
    assert conditions(account.with_reading(Reading(ready=False), T0, 0.1), limit + 1) == [
        Status.SETUP
    ]
    assert conditions(state(), limit + 1) == [Status.WAITING]


def test_days_to_zero_come_from_the_spending_seen() -> None:
    account = read(state(), "100", T0)
    assert days_to_zero(account) is None  # no spending seen yet
    account = read(account, "100", T0 + 86400)
    assert days_to_zero(account) is None  # a flat account never runs out
    account = read(account, "90", T0 + 2 * 86400)  # 10 spent over two days: 5 a day
    assert days_to_zero(account) == pytest.approx(18.0)
    account = read(account, "190", T0 + 3 * 86400)  # a top-up leaves the spending as it was
    assert days_to_zero(account) == pytest.approx(190 / (10 / 3))
    assert days_to_zero(read(account, "-5", T0 + 4 * 86400)) == 0.0


@pytest.mark.parametrize(
    ("amount", "currency", "written"),
    [
        ("12.5", "USD", "12.50 USD"),
        ("12.5000", "USD", "12.50 USD"),
        ("100", "EUR", "100.00 EUR"),
        ("1E+2", "EUR", "100.00 EUR"),
        ("7189.245", "USD", "7189.245 USD"),
        ("10.17127500", "EUR", "10.171275 EUR"),
        ("-154.29", "USD", "-154.29 USD"),
        ("0", "EUR", "0.00 EUR"),
        ("300.5", "credits", "300.5 credits"),
        ("88000", "credits", "88000 credits"),
        ("1234", "searches", "1234 searches"),
        ("2.50", "unknown", "2.50 unknown"),
        ("100", None, "100"),
    ],
)
def test_amounts_are_written_by_currency(amount: str, currency: str | None, written: str) -> None:
    assert format_amount(Decimal(amount), currency) == written


def test_a_sparkline_is_inline_svg_of_every_figure_and_nothing_for_one() -> None:
    assert sparkline([5.0], "x") == ""
    svg = sparkline([3.0, 1.0, 2.0], "last 3")
    assert svg.startswith('<svg width="96" height="20" viewBox="0 0 960 200" ')
    assert 'role="img" aria-label="last 3"' in svg
    assert 'points="20,20 480,180 940,100"' in svg  # the highest at the top
    assert 'points="20,100 940,100"' in sparkline([4.0, 4.0], "flat")
    assert "script" not in svg
