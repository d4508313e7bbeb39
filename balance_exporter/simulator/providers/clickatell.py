"""Clickatell's two APIs, named as the exporter's ``api`` setting names them.

``rest``: GET /rest/account/balance with X-Version 1 and a Bearer token, JSON or (asked for)
XML; codes zero-padded strings. ``platform`` (One API): GET /public-client/balance with the
bare key; codes are numbers, and each has its HTTP status: 1 and 7 → 401, 2 and 3 (account or
integration not active) → 400, 19 → 503, 20 → 402, 43 (rate limit) → 400.
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
from balance_exporter.simulator.scenarios import DrainAndTopUp, RateLimitBursts

# The platform's states that answer one of its documented error codes.
PLATFORM_STATES = {
    "account-inactive": (400, 2, "Account is not active"),
    "integration-inactive": (400, 3, "Integration is not active"),
    "temporarily-unavailable": (503, 19, "Service temporarily unavailable"),
    "payment-required": (402, 20, "Insufficient credit"),
    "error-text-only": (400, None, "Some error occured"),
}


def error(
    status: int, code: str | int, description: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = {"error": {"code": code, "description": description, "documentation": ""}}
    return json_answer(body, status, headers)


class ClickatellSim(SimProvider):
    name = "clickatell"
    routes: ClassVar[tuple[Route, ...]] = (
        Route("/rest/account/balance", "rest"),
        Route("/public-client/balance", "platform"),
    )
    states: ClassVar[tuple[str, ...]] = ("ok", *PLATFORM_STATES)
    failing_states: ClassVar[tuple[str, ...]] = tuple(PLATFORM_STATES)  # of the platform API

    def credential(self, request: web.Request, variant: str) -> str | None:
        if variant == "platform":
            return request.headers.get("Authorization")
        header = request.headers.get("Authorization", "")
        if request.headers.get("X-Version") != "1" or not header.startswith("Bearer "):
            return None  # the REST API answers only versioned requests with a Bearer token
        return header.removeprefix("Bearer ")

    def balance(self, account: SimAccount, request: web.Request) -> web.StreamResponse:
        if account.variant == "platform":
            if account.state in PLATFORM_STATES:
                status, code, text = PLATFORM_STATES[account.state]
                if code is None:
                    return json_answer({"messages": [], "error": text}, status)
                return error(status, code, text)
            account.served = account.balance
            return json_answer({"balance": float(account.balance), "currency": account.currency})
        account.served = account.balance
        if _wants_xml(request):
            return web.Response(
                text=(
                    '<?xml version="1.0"?>\n<response>\n    <data>\n'
                    f"        <balance>{account.balance:.2f}</balance>\n"
                    "    </data>\n</response>\n"
                ),
                content_type="application/xml",
            )
        return json_answer({"data": {"balance": f"{account.balance:.2f}"}})

    def refused(self, status: int, variant: str) -> web.Response:
        forbidden = status == 403
        if variant == "platform":  # no 403 here: a key used from elsewhere is 401 code 7
            if forbidden:
                return error(401, 7, "IP not approved")
            return error(401, 1, "Authentication failed")
        return error(
            status,
            "007" if forbidden else "001",
            "IP Lockdown violation" if forbidden else "Authentication failed",
        )

    def rate_limited(self, wait: int, variant: str, *, announce: bool = True) -> web.Response:
        headers = {"Retry-After": str(wait)} if announce else None
        if variant == "platform":
            return error(400, 43, "Rate limit exceeded", headers)
        return error(429, "044", "Too many requests", headers)

    def server_error(self, status: int, variant: str) -> web.Response:
        return error(status, 999 if variant == "platform" else "999", "Internal error")

    def with_amount(self, value: str, variant: str) -> dict[str, Any]:
        if variant == "platform":
            return {"balance": value, "currency": "ZAR"}
        return {"data": {"balance": value}}

    def shown(self, account: SimAccount, served: Decimal) -> Shown:
        # The REST API counts credits; the platform answers in its currency.
        currency = account.currency if account.variant == "platform" else "credits"
        return Shown(currency, {"balance": served})

    def demo_accounts(self) -> DemoAccounts:
        return {
            "bulk": (
                SimAccount(
                    "clickatell",
                    "demo-clickatell-rest",
                    variant="rest",
                    balance=Decimal("3000.50"),
                    scenario=DrainAndTopUp(Decimal("3000.50"), Decimal("200.00"), Decimal("25.00")),
                ),
                "low_balance: 500",
            ),
            "bulk-za": (
                SimAccount(
                    "clickatell",
                    "demo-clickatell-platform",
                    variant="platform",
                    balance=Decimal("1267.92865"),
                    currency="ZAR",
                    scenario=RateLimitBursts(every=300.0, lasting=45.0, after=90.0),
                ),
                "low_balance: 200",
            ),
        }

    def config_settings(self, account: SimAccount) -> dict[str, str]:
        return {"provider": "clickatell", "api": account.variant or "rest", "api_key": account.key}


def _wants_xml(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/xml" in accept and "application/json" not in accept
