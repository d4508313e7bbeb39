"""A simulated provider account: its money, its state and any fault it shows."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol


class Scenario(Protocol):
    """A change over time (simulator/scenarios.py), applied before each answer."""

    def apply(self, account: SimAccount, elapsed: float) -> None: ...


@dataclass
class SimAccount:
    """``key`` is the credential the exporter must present (Twilio: the auth token).

    ``provider`` is the exporter's provider name and ``variant`` the API, for a provider with
    several, as the exporter's config picks it (Clickatell: ``rest`` or ``platform``).
    """

    provider: str
    key: str
    balance: Decimal = Decimal("100.00")
    currency: str = "USD"
    credit_limit: Decimal | None = None
    pending: Decimal | None = None
    account_sid: str | None = None  # Twilio
    entity_id: str | None = None  # You.com billing entity
    updated: str = "2026.02.13 10:15:00"  # 23 Telecom, UTC without a zone
    state: str = "ok"
    fault: str | None = None
    retry_after: str = "30"  # seconds, for faults that ask the client to wait
    scenario: Scenario | None = None
    served: Decimal | None = None  # the balance of the last trustworthy answer given
    api_key_sid: str | None = None  # Twilio: an API key (SK...) that may stand for the account
    variant: str = ""

    @property
    def credit_blocked(self) -> bool:
        return self.balance <= 0

    def describe(self) -> dict[str, Any]:
        """The account as the control interface shows it (the key is not shown)."""
        return {
            "provider": self.provider,
            "variant": self.variant,
            "balance": str(self.balance),
            "currency": self.currency,
            "credit_limit": None if self.credit_limit is None else str(self.credit_limit),
            "pending": None if self.pending is None else str(self.pending),
            "state": self.state,
            "fault": self.fault,
            "retry_after": self.retry_after,
            "served": None if self.served is None else str(self.served),
            "scenario": type(self.scenario).__name__ if self.scenario else None,
        }
