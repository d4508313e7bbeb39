"""23 Telecom: GET /api/v1/user/balance with X-API-Key.

An account in setup answers HTTP 200 ``{"status": false, "error": ...}``; a degraded cache
answers HTTP 200 with a zero it flags in X-Sms-Gateway-Status or ``"unavailable": true``;
errors ``{"status": false, "error_code", "description"}``; a 429 has no body or an HTML one.
"""

from __future__ import annotations

from datetime import UTC, datetime
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
from balance_exporter.simulator.scenarios import DegradedAtTimes, ReadyAfter

HTML_429 = "<html><body><h1>429 Too Many Requests</h1></body></html>"


def error(
    status: int, code: str, description: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = {"status": False, "error_code": code, "description": description}
    return json_answer(body, status, headers)


class Telecom23Sim(SimProvider):
    name = "23telecom"
    routes: ClassVar[tuple[Route, ...]] = (Route("/api/v1/user/balance"),)
    states: ClassVar[tuple[str, ...]] = ("ok", "setup", "degraded", "degraded-header")

    def credential(self, request: web.Request, variant: str) -> str | None:
        return request.headers.get("X-API-Key")

    def balance(self, account: SimAccount, request: web.Request) -> web.StreamResponse:
        if account.state == "setup":
            return json_answer({"status": False, "error": "Account is in setup process"})
        if account.state == "degraded":
            return json_answer(
                {
                    "balance": 0,
                    "currency": account.currency,
                    "unavailable": True,
                    "reason": "cache_disabled",
                },
                headers={
                    "X-Sms-Gateway-Status": "unavailable",
                    "X-Sms-Gateway-Reason": "cache_disabled",
                },
            )
        if account.state == "degraded-header":  # only the headers tell: a zero balance, blocked
            return json_answer(
                {
                    "balance": 0,
                    "currency": account.currency,
                    "updated": account.updated,
                    "credit_blocked": True,
                },
                headers={
                    "X-Sms-Gateway-Status": "partial",
                    "X-Sms-Gateway-Reason": "cache_miss_refresh_failed",
                },
            )
        body: dict[str, Any] = {
            "balance": float(account.balance),
            "currency": account.currency,
            "updated": account.updated,
        }
        if account.credit_blocked:
            body["credit_blocked"] = True
        account.served = account.balance
        return json_answer(body)

    def refused(self, status: int, variant: str) -> web.Response:
        if status == 403:
            return error(403, "PERMISSION_DENIED", "The key lacks the balance.read permission")
        return error(401, "INVALID_API_KEY", "Invalid API key")

    def rate_limited(self, wait: int, variant: str, *, announce: bool = True) -> web.Response:
        # No body, or an HTML one, depending on the edge that answers.
        if not announce:
            return web.Response(status=429)
        return web.Response(
            status=429, text=HTML_429, content_type="text/html", headers={"Retry-After": str(wait)}
        )

    def server_error(self, status: int, variant: str) -> web.Response:
        return error(status, "INTERNAL_ERROR", "Internal error")

    def with_amount(self, value: str, variant: str) -> dict[str, Any]:
        return {"balance": value, "currency": "EUR"}

    def shown(self, account: SimAccount, served: Decimal) -> Shown:
        updated = datetime.strptime(account.updated, "%Y.%m.%d %H:%M:%S").replace(tzinfo=UTC)
        other = {
            "credit_blocked": float(served <= 0),
            "provider_updated_timestamp_seconds": updated.timestamp(),
        }
        return Shown(account.currency, {"balance": served}, other)

    def demo_accounts(self) -> DemoAccounts:
        return {
            "sms-uk": (
                SimAccount(
                    "23telecom",
                    "demo-23telecom-uk",
                    balance=Decimal("1250.50"),
                    currency="EUR",
                    scenario=DegradedAtTimes(every=300.0, lasting=90.0, after=60.0),
                ),
                "low_balance: 100",
            ),
            "sms-uk-onboarding": (
                SimAccount(
                    "23telecom",
                    "demo-23telecom-new",
                    balance=Decimal("50.00"),
                    currency="EUR",
                    scenario=ReadyAfter(120.0),
                ),
                "",
            ),
            "sms-uk-empty": (
                SimAccount(
                    "23telecom", "demo-23telecom-empty", balance=Decimal("0"), currency="EUR"
                ),
                "",
            ),
        }

    def config_settings(self, account: SimAccount) -> dict[str, str]:
        return {"provider": "23telecom", "api_key": account.key}
