"""An account's status as the metrics tell it, worst first, and what its spending foretells.

Each status follows the series an alert would look at: ``billing_credit_blocked``, the money
figure below ``billing_low_balance_threshold``, ``billing_up``, the age of
``billing_last_success_timestamp_seconds``, ``billing_degraded`` and ``billing_account_ready``.
"""

from __future__ import annotations

from enum import Enum

from balance_exporter.metrics.snapshot import AccountState

STALE_INTERVALS = 3  # no trustworthy reading for this many intervals: the figures are stale
SECONDS_PER_DAY = 86400.0


class Status(Enum):
    """In order, worst first; the value is the word the page shows and ``?status=`` takes."""

    BLOCKED = "blocked"
    BELOW_THRESHOLD = "below threshold"
    FAILING = "failing"
    STALE = "stale"
    DEGRADED = "degraded"
    SETUP = "in setup"
    WAITING = "waiting"
    OK = "ok"

    @property
    def slug(self) -> str:
        """Its name in a query string and a CSS class: one word, lower case."""
        return self.name.lower().replace("_", "-")

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {status: rank for rank, status in enumerate(Status)}
BY_SLUG = {status.slug: status for status in Status}


def is_blocked(account: AccountState) -> bool:
    return account.money is not None and account.money.credit_blocked is True


def is_below_threshold(account: AccountState) -> bool:
    money = account.money
    if money is None or account.low_balance is None:
        return False
    figure = money.figure
    return figure is not None and figure < account.low_balance


def is_stale(account: AccountState, now: float) -> bool:
    """No trustworthy reading for STALE_INTERVALS intervals (an account in setup has none to
    give, and one not polled yet has not had the chance)."""
    if account.up is None or account.ready is False or account.last_success is None:
        return False
    return now - account.last_success > STALE_INTERVALS * account.interval


def conditions(account: AccountState, now: float) -> list[Status]:
    """Every status that applies, worst first; OK alone when none does."""
    found = [
        status
        for status, applies in (
            (Status.BLOCKED, is_blocked(account)),
            (Status.BELOW_THRESHOLD, is_below_threshold(account)),
            (Status.FAILING, account.up is False),
            (Status.STALE, is_stale(account, now)),
            (Status.DEGRADED, account.up is True and account.degraded),
            (Status.SETUP, account.up is True and account.ready is False),
            (Status.WAITING, account.up is None),
        )
        if applies
    ]
    return found or [Status.OK]


def days_to_zero(account: AccountState) -> float | None:
    """Days until the money figure reaches zero at the rate it was spent at, over all the
    exporter has seen of it; None when it has seen no spending."""
    ledger, money = account.ledger, account.money
    if ledger is None or money is None or account.last_success is None or not ledger.spent:
        return None
    figure = money.figure
    seen = account.last_success - ledger.since
    if figure is None or money.currency != ledger.currency or seen <= 0:
        return None
    if figure <= 0:
        return 0.0
    per_day = float(ledger.spent) / seen * SECONDS_PER_DAY
    return float(figure) / per_day
