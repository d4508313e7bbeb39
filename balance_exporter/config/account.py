"""One configured account, validated and with its secrets resolved."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from balance_exporter.config.secret import Secret
from balance_exporter.config.settings import ProviderSettings


@dataclass(frozen=True, eq=True)
class AccountConfig:
    name: str
    provider: str
    interval: float
    timeout: float
    base_url: str | None = None
    # The provider's own keys (account_sid, api, currency...) and credentials, typed.
    settings: ProviderSettings = field(default_factory=ProviderSettings)
    low_balance: Decimal | None = None  # alert threshold, in the account's currency

    @property
    def secrets(self) -> Mapping[str, Secret]:
        return self.settings.secrets()

    __hash__ = None  # type: ignore[assignment]  # secrets inside: compared, never hashed
