"""Textmagic: GET /api/v2/user with X-TM-Username and X-TM-Key; the balance a JSON float.

Errors are the common body ``{"code": <the status>, "message", "errors": null}``. The 401
text is not documented: "Unauthorized" here, and the documented explanation of the status
for a user refused account data. No rate-limit header is documented; its 429 announces the
wait in the standard Retry-After.

A simulated account's username and user id are derived from its key (SimAccount has no
field for them), so that the same key always belongs to the same user.
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

MESSAGES = {
    401: "Unauthorized",
    403: "Forbidden",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
# The response-codes page's explanation of a 401 (regular users cannot read everything).
NO_RIGHTS = "Current user has no rights to perform the specified action."
SYMBOLS = {"USD": "$", "EUR": "&euro;", "GBP": "&pound;"}


def error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return json_answer({"code": status, "message": message, "errors": None}, status, headers)


def username_for(key: str) -> str:
    """The username a simulated key belongs to (a digest: the key itself never shows)."""
    return "tm." + hashlib.sha256(key.encode()).hexdigest()[:10]


def user_id_for(key: str) -> int:
    return 100 + int(hashlib.sha256(key.encode()).hexdigest()[10:16], 16)


class TextmagicSim(SimProvider):
    name = "textmagic"
    routes: ClassVar[tuple[Route, ...]] = (Route("/api/v2/user"),)
    # sub-account: an administrator sub-account user, shown the parent's balance;
    # no-permission: a regular sub-account user refused account data with a 401.
    states: ClassVar[tuple[str, ...]] = ("ok", "sub-account", "no-permission")
    failing_states: ClassVar[tuple[str, ...]] = ("no-permission",)

    def credential(self, request: web.Request, variant: str) -> str | None:
        return _pair(request)[1]

    def authenticates(self, account: SimAccount, request: web.Request, variant: str) -> bool:
        return _pair(request) == (username_for(account.key), account.key)

    def balance(self, account: SimAccount, request: web.Request) -> web.StreamResponse:
        if account.state == "no-permission":
            return error(401, NO_RIGHTS)
        account.served = account.balance
        return json_answer(self.user(account))

    def user(self, account: SimAccount) -> dict[str, Any]:
        username = username_for(account.key)
        sub_account = account.state == "sub-account"
        return {
            "id": user_id_for(account.key),
            "username": username,
            "firstName": "Charles",
            "lastName": "Conway",
            "email": f"{username}@example.com",
            "status": "A",
            # Documented as a float; the exporter reads its text exactly.
            "balance": float(account.balance),
            "currency": {
                "id": account.currency,
                "htmlSymbol": SYMBOLS.get(account.currency, account.currency),
            },
            "company": "Example Ltd.",
            "subaccountType": "A" if sub_account else "P",
            "timezone": {
                "id": 185,
                "area": "Europe",
                "dst": 1,
                "offset": 0,
                "timezone": "Europe/London",
            },
        }

    def refused(self, status: int, variant: str) -> web.Response:
        return error(status, MESSAGES[status])

    def rate_limited(self, wait: int, variant: str, *, announce: bool = True) -> web.Response:
        return error(429, MESSAGES[429], {"Retry-After": str(wait)} if announce else None)

    def server_error(self, status: int, variant: str) -> web.Response:
        return error(status, MESSAGES.get(status, MESSAGES[500]))

    def with_amount(self, value: str, variant: str) -> dict[str, Any]:
        return {
            "id": 1,
            "username": "tm.amount",
            "balance": value,
            "currency": {"id": "USD", "htmlSymbol": "$"},
            "subaccountType": "P",
        }

    def account_id(self, account: SimAccount) -> str | None:
        # Only the parent user's id names the account the balance belongs to.
        return str(user_id_for(account.key)) if account.state == "ok" else None

    def demo_accounts(self) -> DemoAccounts:
        return {
            "textmagic-main": (
                SimAccount("textmagic", "demo-textmagic-main", balance=Decimal("10.5")),
                "low_balance: 50",
            ),
            "textmagic-eu": (
                SimAccount(
                    "textmagic", "demo-textmagic-eu", balance=Decimal("12.45"), currency="EUR"
                ),
                "",
            ),
        }

    def config_settings(self, account: SimAccount) -> dict[str, str]:
        return {
            "provider": "textmagic",
            "username": username_for(account.key),
            "api_key": account.key,
        }


def _pair(request: web.Request) -> tuple[str | None, str | None]:
    """Username and key: the documented headers, or the same pair as HTTP Basic (what the
    generated v2 SDK sends; both work)."""
    if "X-TM-Key" in request.headers or "X-TM-Username" in request.headers:
        return request.headers.get("X-TM-Username"), request.headers.get("X-TM-Key")
    return basic_auth(request)
