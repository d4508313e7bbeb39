"""A simulated provider account: its money, its state and any fault it shows."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from balance_exporter.simulator.scenarios import Scenario

# The simulator's provider names; Clickatell's two APIs are two providers here.
PROVIDERS = ("telnyx", "twilio", "clickatell", "clickatell-platform", "youcom", "23telecom")
STATES = ("ok", "setup", "degraded", "degraded-header", "subaccount", "subaccount-404")


@dataclass
class SimAccount:
    """``key`` is the credential the exporter must present (Twilio: the auth token)."""

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

    def __post_init__(self) -> None:
        if self.provider not in PROVIDERS:
            raise ValueError(f"unknown simulated provider {self.provider!r}")

    @property
    def credit_blocked(self) -> bool:
        return self.balance <= 0

    def describe(self) -> dict[str, Any]:
        """The account as the control interface shows it (the key is not shown)."""
        return {
            "provider": self.provider,
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
