"""The exporter's knowledge as immutable values: what each account last told us, and how polls went.

Polls replace an account's state; scrapes read a Snapshot and never wait on anything.
A new generation number marks every change, so renderings can be reused until the next one.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Final

from balance_exporter.config.account import AccountConfig
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import PollError, Reason

UNKNOWN_CURRENCY = "unknown"
ZERO = Decimal(0)
HISTORY = 32  # trustworthy readings kept per account, for the landing page's sparkline
# Single precision: a sparkline needs a few digits, and 10,000 accounts keep 32 figures each.
HISTORY_TYPE: Final = "f"


@dataclass(frozen=True, slots=True)
class Money:
    """Figures from the last trustworthy answer."""

    currency: str
    balance: Decimal | None = None
    credit_limit: Decimal | None = None
    pending: Decimal | None = None
    available_credit: Decimal | None = None
    credit_blocked: bool | None = None
    provider_updated: float | None = None
    other_balances: tuple[tuple[str, Decimal], ...] = ()  # (currency, balance) beside the first
    quota_reset: float | None = None

    @property
    def figure(self) -> Decimal | None:
        """The money an account has to spend: the available credit where the provider reports
        it, else the balance (what the alert rules compare with the threshold, too)."""
        return self.balance if self.available_credit is None else self.available_credit


@dataclass(frozen=True, slots=True)
class Ledger:
    """What the exporter has seen of an account's money figure, from one trustworthy reading to
    the next, in one currency: the sums of its decreases (spent) and of its increases (topped
    up), and the last few figures. Readings that are not trustworthy never reach it."""

    currency: str
    of_credit: bool  # the figure is the available credit, not the balance
    figure: Decimal  # the last trustworthy figure: the next one is compared with it
    since: float  # when this ledger saw its first figure
    spent: Decimal = ZERO
    topped_up: Decimal = ZERO
    history: bytes = b""  # the last HISTORY figures, packed (immutable, and a few bytes each)

    @classmethod
    def start(cls, currency: str, of_credit: bool, figure: Decimal, now: float) -> Ledger:
        return cls(currency, of_credit, figure, now, history=_packed(b"", figure))

    def after(self, currency: str, of_credit: bool, figure: Decimal, now: float) -> Ledger:
        """The ledger once a trustworthy reading showed ``figure``."""
        if currency != self.currency:  # never arithmetic across currencies: a new ledger
            return Ledger.start(currency, of_credit, figure, now)
        if of_credit != self.of_credit:  # another figure: no change to count between the two
            return replace(self, of_credit=of_credit, figure=figure, history=_packed(b"", figure))
        change = figure - self.figure
        return replace(
            self,
            figure=figure,
            spent=self.spent - change if change < 0 else self.spent,
            topped_up=self.topped_up + change if change > 0 else self.topped_up,
            history=_packed(self.history, figure),
        )

    @property
    def figures(self) -> array[float]:
        """The last figures, oldest first."""
        return array(HISTORY_TYPE, self.history)


def _packed(history: bytes, figure: Decimal) -> bytes:
    kept = array(HISTORY_TYPE, history[-(HISTORY - 1) * array(HISTORY_TYPE).itemsize :])
    kept.append(float(figure))
    return kept.tobytes()


@dataclass(frozen=True, slots=True)
class AccountState:
    name: str
    provider: str
    interval: float
    low_balance: Decimal | None = None
    money: Money | None = None
    last_success: float | None = None
    up: bool | None = None  # None until the first poll finished
    ready: bool | None = None  # None until the first valid answer
    degraded: bool = False
    degraded_reason: str | None = None
    last_poll: float | None = None
    last_duration: float | None = None
    polls: int = 0
    failures: tuple[int, ...] = (0,) * len(Reason)  # in Reason order
    last_error: str | None = None
    last_reason: Reason | None = None
    failing_since: float | None = None  # when the current run of failed polls began
    provider_account_id: str | None = None
    note: str | None = None  # the last answer's remark (Reading.note)
    ledger: Ledger | None = None  # from the first trustworthy money figure on
    next_poll: float | None = None  # when the scheduler polls the account next, epoch seconds

    def failure_count(self, reason: Reason) -> int:
        return self.failures[list(Reason).index(reason)]

    def with_reading(
        self, reading: Reading, now: float, duration: float, next_poll: float | None = None
    ) -> AccountState:
        money, ledger, last_success = self.money, self.ledger, self.last_success
        if not reading.ready:
            money = None  # in setup: no figures exist yet
        elif reading.trusted:  # else degraded: the last trustworthy figures stay
            money = self._money(reading)
            ledger, last_success = self._ledger(money, now), now
        return replace(
            self,
            money=money,
            ledger=ledger,
            last_success=last_success,
            up=True,
            ready=reading.ready,
            degraded=reading.degraded,
            degraded_reason=reading.degraded_reason,
            last_poll=now,
            last_duration=duration,
            polls=self.polls + 1,
            last_error=None,
            last_reason=None,
            failing_since=None,
            provider_account_id=reading.provider_account_id or self.provider_account_id,
            note=reading.note,
            next_poll=next_poll,
        )

    def _money(self, reading: Reading) -> Money:
        previous = self.money.currency if self.money else None
        return Money(
            currency=reading.currency or previous or UNKNOWN_CURRENCY,
            balance=reading.balance,
            credit_limit=reading.credit_limit,
            pending=reading.pending,
            available_credit=reading.available_credit,
            credit_blocked=reading.credit_blocked,
            provider_updated=reading.provider_updated,
            other_balances=reading.other_balances,
            quota_reset=reading.quota_reset,
        )

    def _ledger(self, money: Money, now: float) -> Ledger | None:
        figure = money.figure
        if figure is None:  # nothing to compare: the last figure stays the reference
            return self.ledger
        of_credit = money.available_credit is not None
        if self.ledger is None:
            return Ledger.start(money.currency, of_credit, figure, now)
        return self.ledger.after(money.currency, of_credit, figure, now)

    def with_failure(
        self, failure: PollError, now: float, duration: float, next_poll: float | None = None
    ) -> AccountState:
        failures = list(self.failures)
        failures[list(Reason).index(failure.reason)] += 1
        return replace(
            self,
            up=False,
            last_poll=now,
            last_duration=duration,
            polls=self.polls + 1,
            failures=tuple(failures),
            last_error=failure.message,
            last_reason=failure.reason,
            failing_since=self.failing_since if self.up is False else now,
            next_poll=next_poll,
        )

    def with_next_poll(self, next_poll: float) -> AccountState:
        return replace(self, next_poll=next_poll)


@dataclass(frozen=True, slots=True)
class ExporterState:
    reload_successful: bool = True
    reload_success_timestamp: float | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    generation: int
    accounts: tuple[AccountState, ...] = ()
    exporter: ExporterState = field(default_factory=ExporterState)

    @property
    def ready(self) -> bool:
        """Every account has had its first poll attempt."""
        return all(account.up is not None for account in self.accounts)


class SnapshotStore:
    """Holds the current Snapshot; the only writer is the event loop, so no lock is needed."""

    def __init__(self) -> None:
        self._states: dict[str, AccountState] = {}
        self._exporter = ExporterState()
        self._generation = 0
        self._snapshot = Snapshot(0)
        self._listeners: list[Callable[[], None]] = []
        self.unpolled = 0  # accounts still waiting for their first poll attempt

    @property
    def snapshot(self) -> Snapshot:
        if self._snapshot.generation != self._generation:
            self._snapshot = Snapshot(
                self._generation, tuple(self._states.values()), self._exporter
            )
        return self._snapshot

    def state(self, name: str) -> AccountState:
        return self._states[name]

    def note(self, name: str) -> str | None:
        """The remark of the account's last answer, if the account is (still) configured."""
        known = self._states.get(name)
        return None if known is None else known.note

    def set_accounts(self, accounts: Iterable[AccountConfig]) -> None:
        """Follow a (re)loaded config: keep what is known of staying accounts, drop the rest."""
        states: dict[str, AccountState] = {}
        for account in accounts:
            known = self._states.get(account.name)
            if known is not None and known.provider == account.provider:
                states[account.name] = replace(
                    known, interval=account.interval, low_balance=account.low_balance
                )
            else:
                states[account.name] = AccountState(
                    account.name, account.provider, account.interval, account.low_balance
                )
        self._states = states
        self.unpolled = sum(1 for state in states.values() if state.up is None)
        self._changed()

    def update(self, name: str, change: Callable[[AccountState], AccountState]) -> None:
        known = self._states.get(name)
        if known is not None:  # an account removed by a reload while its poll ran stays removed
            changed = self._states[name] = change(known)
            if known.up is None and changed.up is not None:
                self.unpolled -= 1
            self._changed()

    def set_reload(self, successful: bool, now: float) -> None:
        self._exporter = ExporterState(
            successful, now if successful else self._exporter.reload_success_timestamp
        )
        self._changed()

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every change (on the event loop; it must not block)."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        self._generation += 1
        for listener in self._listeners:
            listener()
