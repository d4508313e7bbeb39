"""You.com: GET /v1/billing/account_balance with X-API-Key; the balance in cents.

Errors are FastAPI's: ``{"detail": "text"}``, or for a request it cannot validate a list of
``{loc, msg, type}``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from aiohttp import web

from balance_exporter.simulator.accounts import SimAccount
from balance_exporter.simulator.providers.base import (
    DemoAccounts,
    Route,
    SimProvider,
    json_answer,
)

# FastAPI's answer to a request it cannot validate: a list of problems, not a string.
VALIDATION_DETAIL = [{"loc": ["header", "x-api-key"], "msg": "Field required", "type": "missing"}]


def error(status: int, detail: Any, headers: dict[str, str] | None = None) -> web.Response:
    return json_answer({"detail": detail}, status, headers)


class YouComSim(SimProvider):
    name = "youcom"
    routes: ClassVar[tuple[Route, ...]] = (Route("/v1/billing/account_balance"),)
    # invalid-request: FastAPI's 422 with a list; gateway-error: a body that says ``error``.
    states: ClassVar[tuple[str, ...]] = ("ok", "invalid-request", "gateway-error")
    failing_states: ClassVar[tuple[str, ...]] = ("invalid-request", "gateway-error")

    def credential(self, request: web.Request, variant: str) -> str | None:
        return request.headers.get("X-API-Key")

    def balance(self, account: SimAccount, request: web.Request) -> web.StreamResponse:
        if account.state == "invalid-request":
            return error(422, VALIDATION_DETAIL)
        if account.state == "gateway-error":
            return json_answer({"error": "Bad gateway"}, 502)
        account.served = account.balance
        cents = float(account.balance * 100)
        return json_answer(
            {
                "data": {
                    "type": "account",
                    "id": account.entity_id or "ent_0000",
                    "attributes": {"balance": cents},
                }
            }
        )

    def refused(self, status: int, variant: str) -> web.Response:
        if status == 403:
            return error(403, "Forbidden. API key lacks scope for this path.")
        return error(401, "Invalid or missing API key")

    def rate_limited(self, wait: int, variant: str, *, announce: bool = True) -> web.Response:
        return error(429, "Too many requests", {"Retry-After": str(wait)} if announce else None)

    def server_error(self, status: int, variant: str) -> web.Response:
        return error(status, "Internal Server Error")

    def with_amount(self, value: str, variant: str) -> dict[str, Any]:
        return {"data": {"type": "account", "id": "x", "attributes": {"balance": value}}}

    def account_id(self, account: SimAccount) -> str | None:
        return account.entity_id or "ent_0000"

    def demo_accounts(self) -> DemoAccounts:
        return {
            "search": (
                SimAccount(
                    "youcom", "demo-youcom-a", balance=Decimal("7189.245"), entity_id="ent_demo01"
                ),
                "low_balance: 1000",
            ),
            "search-team2": (
                SimAccount(
                    "youcom", "demo-youcom-b", balance=Decimal("7189.245"), entity_id="ent_demo01"
                ),
                "",
            ),
        }

    def config_settings(self, account: SimAccount) -> dict[str, str]:
        return {"provider": "youcom", "api_key": account.key}
