"""46elks: GET /a1/me with HTTP Basic auth (API username and password).

The balance is an integer in 1/10,000 of the currency (SEK or EUR). Errors are plain text,
``text/plain; charset=utf-8``, the meaning in the status; the only documented text is the
default one for /me. No rate limit is documented for /me: a 429 is answered like any
provider's, with Retry-After. The account's username is derived from its key (SimAccount has
no field for it) and is also the ``id`` the answer names.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any, ClassVar

from aiohttp import web

from balance_exporter.simulator.accounts import SimAccount
from balance_exporter.simulator.providers.base import (
    DemoAccounts,
    Route,
    SimProvider,
    basic_auth,
    json_answer,
)

UNITS = Decimal(10000)  # 1/10,000 of the currency
ERROR_TEXT = "Unable to get account."  # the documented error text of GET /me
CREDIT_ALERT = 200000  # the documented example threshold, 20.00 in the account currency


def username_for(key: str) -> str:
    """The API username of the account whose password is ``key``: u + 32 hex, as 46elks'."""
    return "u" + hashlib.sha256(key.encode()).hexdigest()[:32]


def units(balance: Decimal) -> int:
    """The balance as 46elks counts it; finer than 1/10,000 cannot be said."""
    return int((balance * UNITS).to_integral_value())


def text_error(status: int, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        text=ERROR_TEXT,
        content_type="text/plain",
        charset="utf-8",
        headers=headers,
    )


class Elks46Sim(SimProvider):
    name = "46elks"
    # 46elks' own examples write /a1/Me: the path is case-insensitive there.
    routes: ClassVar[tuple[Route, ...]] = (Route("/a1/me"), Route("/a1/Me"))

    def credential(self, request: web.Request, variant: str) -> str | None:
        _, password = basic_auth(request)
        return password

    def authenticates(self, account: SimAccount, request: web.Request, variant: str) -> bool:
        user, password = basic_auth(request)
        return password == account.key and user == username_for(account.key)

    def balance(self, account: SimAccount, request: web.Request) -> web.StreamResponse:
        count = units(account.balance)
        account.served = Decimal(count) / UNITS
        return json_answer(
            {
                "id": username_for(account.key),
                "displayname": "Simulated account",
                "mobilenumber": "+46700000000",
                "email": "billing@example.com",
                "currency": account.currency,
                "balance": count,
                "creditalert": CREDIT_ALERT,
            }
        )

    def refused(self, status: int, variant: str) -> web.Response:
        return text_error(status)

    def rate_limited(self, wait: int, variant: str, *, announce: bool = True) -> web.Response:
        return text_error(429, {"Retry-After": str(wait)} if announce else None)

    def server_error(self, status: int, variant: str) -> web.Response:
        return text_error(status)

    def with_amount(self, value: str, variant: str) -> dict[str, Any]:
        return {"id": username_for("with-amount"), "currency": "SEK", "balance": value}

    def account_id(self, account: SimAccount) -> str | None:
        return username_for(account.key)

    def demo_accounts(self) -> DemoAccounts:
        return {
            "46elks-main": (
                SimAccount("46elks", "demo-46elks-main", balance=Decimal("967.05"), currency="SEK"),
                "low_balance: 500",
            ),
            # Four decimals, the finest 46elks counts in; below its threshold.
            "46elks-eu": (
                SimAccount("46elks", "demo-46elks-eu", balance=Decimal("12.3456"), currency="EUR"),
                "low_balance: 20",
            ),
        }

    def config_settings(self, account: SimAccount) -> dict[str, str]:
        return {
            "provider": "46elks",
            "username": username_for(account.key),
            "password": account.key,
        }
