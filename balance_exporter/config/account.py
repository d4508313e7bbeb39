"""One configured account, validated and with its secrets resolved."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from balance_exporter.config.secret import Secret


@dataclass(frozen=True, eq=True)
class AccountConfig:
    name: str
    provider: str
    interval: float
    timeout: float
    base_url: str | None = None
    # Provider-specific plain settings (account_sid, api, currency...) and credentials.
    settings: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, Secret] = field(default_factory=dict)
    low_balance: Decimal | None = None  # alert threshold, in the account's currency

    def setting(self, key: str) -> str | None:
        return self.settings.get(key)

    def secret(self, key: str) -> str:
        return self.secrets[key].reveal()

    def has_secret(self, key: str) -> bool:
        return key in self.secrets

    __hash__ = None  # type: ignore[assignment]  # mappings inside: compared, never hashed
