"""What one successful poll learned about an account."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Reading:
    """A valid provider answer.

    ``trusted`` is False when the provider flagged its own figures as unreliable
    (degraded): the answer counts as a successful poll but its money figures are
    not used. ``ready`` is False while the provider says the account is being set
    up; such an answer carries no money figures at all.
    """

    currency: str | None = None
    balance: Decimal | None = None
    credit_limit: Decimal | None = None
    pending: Decimal | None = None
    available_credit: Decimal | None = None
    credit_blocked: bool | None = None
    degraded: bool = False
    degraded_reason: str | None = None
    ready: bool = True
    provider_updated: float | None = None
    provider_account_id: str | None = None
    # Balances in further currencies of one answer (DeepSeek: an entry per currency).
    other_balances: tuple[tuple[str, Decimal], ...] = ()
    quota_reset: float | None = None  # when the provider's quota starts afresh, epoch seconds
    # Why a valid answer shows less than one might expect (a postpaid account has no balance):
    # logged once, and again only when it changes.
    note: str | None = None

    @property
    def trusted(self) -> bool:
        return self.ready and not self.degraded
