"""Plivo: GET /v1/Account/{auth_id}/ with HTTP Basic auth (Auth ID : Auth Token).

The Auth ID in the path must be the Basic user's. SimAccount holds only the token (``key``),
so each account's Auth ID is derived from it: ``MA`` and 18 upper-case hex digits. Errors are
``{"api_id": ..., "error": "<text>"}``; a 401 comes without ``api_id``.
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

# Plivo gives every answer a fresh api_id; a fixed one keeps the simulator's answers
# comparable byte for byte.
API_ID = "150892a0-922a-11e7-b6f4-061564b78b75"
PLACEHOLDER_AUTH_ID = "MAXXXXXXXXXXXXXXXXXX"  # the documentation's own


def auth_id(account: SimAccount) -> str:
    """The account's Auth ID, the same for the same token."""
    return "MA" + hashlib.sha256(account.key.encode()).hexdigest()[:18].upper()


def error(status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
    return json_answer({"api_id": API_ID, "error": text}, status, headers)


def account_body(auth: str, cash_credits: str) -> dict[str, Any]:
    """The Account object, with the fields of the documentation's example."""
    return {
        "account_type": "standard",
        "address": "",
        "api_id": API_ID,
        "auth_id": auth,
        "auto_recharge": False,
        "billing_mode": "prepaid",
        "cash_credits": cash_credits,
        "city": "",
        "name": "Balance Exporter Demo",
        "resource_uri": f"/v1/Account/{auth}/",
        "state": "",
        "timezone": "America/New_York",
    }


class PlivoSim(SimProvider):
    name = "plivo"
    routes: ClassVar[tuple[Route, ...]] = (Route("/v1/Account/{auth_id}/"),)

    def credential(self, request: web.Request, variant: str) -> str | None:
        _, password = basic_auth(request)
        return password

    def authenticates(self, account: SimAccount, request: web.Request, variant: str) -> bool:
        user, password = basic_auth(request)
        expected = auth_id(account)
        return (
            request.match_info["auth_id"] == expected
            and user == expected
            and password == account.key
        )

    def balance(self, account: SimAccount, request: web.Request) -> web.StreamResponse:
        cash_credits = f"{account.balance:.5f}"  # a string with 5 decimals, as documented
        account.served = Decimal(cash_credits)
        return json_answer(account_body(auth_id(account), cash_credits))

    def refused(self, status: int, variant: str) -> web.Response:
        if status == 403:
            return error(403, "forbidden")
        # plivo-php #367: 401 answers come without api_id.
        return json_answer({"error": "authentication failed"}, 401)

    def rate_limited(self, wait: int, variant: str, *, announce: bool = True) -> web.Response:
        # Plivo documents no wait header; a plain Retry-After is what the exporter reads.
        return error(429, "too many requests", {"Retry-After": str(wait)} if announce else None)

    def server_error(self, status: int, variant: str) -> web.Response:
        return error(status, "server error")

    def with_amount(self, value: str, variant: str) -> dict[str, Any]:
        return account_body(PLACEHOLDER_AUTH_ID, value)

    def account_id(self, account: SimAccount) -> str | None:
        return auth_id(account)

    def demo_accounts(self) -> DemoAccounts:
        return {
            "plivo-main": (
                # The documentation's own figure, below the threshold: a low balance to show.
                SimAccount("plivo", "demo-plivo-token", balance=Decimal("4.88860")),
                "low_balance: 10",
            ),
        }

    def config_settings(self, account: SimAccount) -> dict[str, str]:
        settings = {"provider": "plivo", "auth_id": auth_id(account), "auth_token": account.key}
        if account.currency != "USD":  # the exporter's default
            settings["currency"] = account.currency
        return settings
