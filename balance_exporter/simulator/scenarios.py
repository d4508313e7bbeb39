"""Changes over time, as pure functions of the seconds since the simulator started.

A scenario is applied to its account before each answer, so what a poll sees depends only
on the simulator's clock: a test that drives the clock gets the same story every time.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from balance_exporter.simulator.accounts import SimAccount


@dataclass(frozen=True)
class DrainAndTopUp:
    """Spends ``per_minute`` until the balance would pass ``floor``, then tops up to ``top``."""

    top: Decimal
    floor: Decimal
    per_minute: Decimal

    def apply(self, account: SimAccount, elapsed: float) -> None:
        spent = self.per_minute * Decimal(int(elapsed)) / 60
        account.balance = (self.top - spent % (self.top - self.floor)).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class _Spells:
    """On for ``lasting`` seconds out of every ``every``, starting after ``after``."""

    every: float
    lasting: float
    after: float = 0.0

    def on(self, elapsed: float) -> bool:
        phase = elapsed - self.after
        return phase >= 0 and phase % self.every < self.lasting


@dataclass(frozen=True)
class DegradedAtTimes(_Spells):
    """Degraded for ``lasting`` seconds out of every ``every``, starting after ``after``."""

    state: str = "degraded"

    def apply(self, account: SimAccount, elapsed: float) -> None:
        account.state = self.state if self.on(elapsed) else "ok"


@dataclass(frozen=True)
class ReadyAfter:
    """In setup until ``seconds`` have passed, then an ordinary account."""

    seconds: float

    def apply(self, account: SimAccount, elapsed: float) -> None:
        account.state = "setup" if elapsed < self.seconds else "ok"


@dataclass(frozen=True)
class RateLimitBursts(_Spells):
    """Answers "too many requests" for ``lasting`` seconds out of every ``every``."""

    def apply(self, account: SimAccount, elapsed: float) -> None:
        account.fault = "429-seconds" if self.on(elapsed) else None
