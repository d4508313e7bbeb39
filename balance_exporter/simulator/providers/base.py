"""What a simulated provider supplies: routes, authentication, its answers and its error bodies.

The app (simulator/app.py) finds the account a request is for, counts it, applies its scenario,
rate limit and fault, and asks the account's provider for the answer. A provider with several
APIs (Clickatell) names them as its exporter adapter does, by the value of the setting that
picks one (``api: platform``): ``SimAccount.variant``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from aiohttp import BasicAuth, web

from balance_exporter.simulator.accounts import SimAccount

# Demo accounts by name: the simulated account, and config lines to add (a low_balance).
DemoAccounts = dict[str, tuple[SimAccount, str]]


@dataclass(frozen=True)
class Shown:
    """What the exporter must show of an account's last trustworthy answer: the figures in
    money (metric name without ``billing_``, in ``currency``) and those of the account alone."""

    currency: str
    money: dict[str, Decimal]
    other: dict[str, float] = field(default_factory=dict)
    more_balances: dict[str, Decimal] = field(default_factory=dict)  # by further currency


@dataclass(frozen=True)
class Route:
    path: str
    variant: str = ""


class SimProvider(ABC):
    name: ClassVar[str]  # the exporter's provider name
    routes: ClassVar[tuple[Route, ...]]
    # The states an account of this provider can be put in; "ok" is the ordinary one.
    states: ClassVar[tuple[str, ...]] = ("ok",)
    # Those of them in which every poll fails (an error answer); "setup" is an account in
    # setup and "degraded…" a degraded answer, both valid; any other state answers a balance.
    failing_states: ClassVar[tuple[str, ...]] = ()

    @property
    def variants(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(route.variant for route in self.routes))

    @abstractmethod
    def credential(self, request: web.Request, variant: str) -> str | None:
        """The key the request presents in the documented way, or None."""

    def authenticates(self, account: SimAccount, request: web.Request, variant: str) -> bool:
        key = self.credential(request, variant)
        return key is not None and key == account.key

    @abstractmethod
    def balance(self, account: SimAccount, request: web.Request) -> web.StreamResponse:
        """The answer for the account in its current state; sets ``account.served`` when the
        answer is a trustworthy balance."""

    @abstractmethod
    def refused(self, status: int, variant: str) -> web.Response:
        """A wrong or missing credential (401), or one without the permission (403)."""

    @abstractmethod
    def rate_limited(self, wait: int, variant: str, *, announce: bool = True) -> web.Response:
        """Its own "too many requests"; ``announce``: with the wait header(s) it sends, if any."""

    @abstractmethod
    def server_error(self, status: int, variant: str) -> web.Response:
        """Its own 5xx body."""

    @abstractmethod
    def with_amount(self, value: str, variant: str) -> dict[str, Any]:
        """A success body whose balance is the raw JSON text ``value`` (NaN, 1,000.00...)."""

    def shown(self, account: SimAccount, served: Decimal) -> Shown:
        """What the exporter shows once ``served`` was the balance of its last good answer."""
        return Shown(account.currency, {"balance": served})

    def account_id(self, account: SimAccount) -> str | None:
        """The provider's id of the account, where its answer gives one."""
        return None

    def demo_accounts(self) -> DemoAccounts:
        """The accounts ``balance-exporter --demo`` shows of this provider, by name."""
        return {}

    @abstractmethod
    def config_settings(self, account: SimAccount) -> dict[str, str]:
        """The exporter's config keys (provider, credentials, api) that poll this account."""


def basic_auth(request: web.Request) -> tuple[str | None, str | None]:
    """The user and password of an HTTP Basic Authorization header; (None, None) without one."""
    try:
        credentials = BasicAuth.decode(request.headers.get("Authorization", ""))
    except ValueError:
        return None, None
    return credentials.login, credentials.password


def json_answer(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(body, status=status, headers=headers)
