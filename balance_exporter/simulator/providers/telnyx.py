"""Telnyx: GET /v2/balance with a Bearer key; errors ``{"errors": [{code, title, detail}]}``.

Its 429 says when the window resets in ``x-ratelimit-*`` headers (seconds), never Retry-After.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from aiohttp import web

from balance_exporter.simulator.accounts import SimAccount
from balance_exporter.simulator.providers.base import (
    DemoAccounts,
    Route,
    Shown,
    SimProvider,
    json_answer,
)
from balance_exporter.simulator.scenarios import DrainAndTopUp

RATE_LIMIT = 20  # what x-ratelimit-limit announces: requests per window and key


def error(
    status: int, code: str, title: str, detail: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = {"errors": [{"code": code, "title": title, "detail": detail}]}
    return json_answer(body, status, headers)


def credit_account(key: str) -> SimAccount:
    """A credit account as Telnyx reports one: below zero, within its limit, no pending."""
    return SimAccount(
        "telnyx", key, balance=Decimal("-154.29"), credit_limit=Decimal("500.00"), pending=None
    )


class TelnyxSim(SimProvider):
    name = "telnyx"
    routes: ClassVar[tuple[Route, ...]] = (Route("/v2/balance"),)

    def credential(self, request: web.Request, variant: str) -> str | None:
        header = request.headers.get("Authorization", "")
        return header.removeprefix("Bearer ") if header.startswith("Bearer ") else None

    def balance(self, account: SimAccount, request: web.Request) -> web.StreamResponse:
        limit = account.credit_limit or 0
        body: dict[str, Any] = {
            "record_type": "balance",
            "balance": f"{account.balance:.2f}",
            "credit_limit": f"{limit:.2f}",
            "available_credit": f"{account.balance + limit:.2f}",
            "currency": account.currency,
        }
        if account.pending is not None:
            body["pending"] = f"{account.pending:.2f}"
        account.served = account.balance
        return json_answer({"data": body})

    def refused(self, status: int, variant: str) -> web.Response:
        if status == 403:
            return error(
                403,
                "10010",
                "Authorization failed",
                "Insufficient permissions to access balance information",
            )
        return error(
            401, "10009", "Authentication failed", "Could not understand the provided credentials."
        )

    def rate_limited(self, wait: int, variant: str, *, announce: bool = True) -> web.Response:
        headers = {}
        if announce:
            headers = {
                "x-ratelimit-limit": str(RATE_LIMIT),
                "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": str(wait),
            }
        return error(
            429,
            "10011",
            "Too many requests",
            "You have exceeded the maximum number of allowed requests.",
            headers,
        )

    def server_error(self, status: int, variant: str) -> web.Response:
        return error(status, "10007", "Unexpected error", "An unexpected error occurred.")

    def with_amount(self, value: str, variant: str) -> dict[str, Any]:
        return {"data": {"balance": value, "currency": "USD"}}

    def shown(self, account: SimAccount, served: Decimal) -> Shown:
        limit = account.credit_limit or Decimal(0)
        money = {"balance": served, "credit_limit": limit, "available_credit": served + limit}
        if account.pending is not None:
            money["pending"] = account.pending
        return Shown(account.currency, money)

    def demo_accounts(self) -> DemoAccounts:
        return {
            "sms-eu": (
                SimAccount(
                    "telnyx",
                    "demo-telnyx-eu",
                    balance=Decimal("480.00"),
                    credit_limit=Decimal("100.00"),
                    pending=Decimal("12.50"),
                    scenario=DrainAndTopUp(Decimal("500.00"), Decimal("40.00"), Decimal("6.00")),
                ),
                "low_balance: 100",
            ),
            "sms-us": (
                credit_account("demo-telnyx-us"),
                "",
            ),
        }

    def config_settings(self, account: SimAccount) -> dict[str, str]:
        return {"provider": "telnyx", "api_key": account.key}
