"""OpenRouter's two APIs, named as the exporter's ``api`` setting names them; Bearer keys.

``credits``: GET /api/v1/credits, ``{"data": {"total_credits", "total_usage"}}`` in dollars,
for a management key only (the ``inference-key`` state: 403). ``key``: GET /api/v1/key (and
its older alias /api/v1/auth/key), the key's cap, what is left of it and its usage; a key with
no cap (the ``no-limit`` state) answers ``limit`` and ``limit_remaining`` null. Errors are
``{"error": {"code": <the status>, "message"}}``; 429 may carry Retry-After. The texts of the
429 and of a 403 on /key are not documented: OpenRouter's plain words.
"""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus
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

# SimAccount has no usage figures: fixed ones, with as many decimals as real usage carries.
CREDITS_USAGE = Decimal("25.1015644762")
KEY_USAGE = Decimal("25.5")
NO_AUTH = "No auth credentials found"
MANAGEMENT_ONLY = "Only management keys can perform this operation"


def error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return json_answer({"error": {"code": status, "message": message}}, status, headers)


def number(value: Decimal) -> int | float:
    """A JSON number as OpenRouter writes one: ``100`` when whole, else ``74.5``."""
    return int(value) if value == value.to_integral_value() else float(value)


def key_data(account: SimAccount, limit: Any, remaining: Any) -> dict[str, Any]:
    """The /key answer's data: the key's label (its ends, as OpenRouter shows them), its cap."""
    usage = number(KEY_USAGE)
    return {
        "label": f"{account.key[:12]}...{account.key[-3:]}",
        "limit": limit,
        "limit_remaining": remaining,
        "limit_reset": None if limit is None else "monthly",
        "usage": usage,
        "usage_daily": usage,
        "usage_weekly": usage,
        "usage_monthly": usage,
        "is_free_tier": False,
        "is_management_key": False,
        "include_byok_in_limit": False,
        "expires_at": "2027-12-31T23:59:59Z",
        "rate_limit": {"requests": 1000, "interval": "1h"},  # deprecated, still sent
    }


class OpenrouterSim(SimProvider):
    name = "openrouter"
    routes: ClassVar[tuple[Route, ...]] = (
        Route("/api/v1/credits", "credits"),
        Route("/api/v1/key", "key"),
        Route("/api/v1/auth/key", "key"),
    )
    states: ClassVar[tuple[str, ...]] = ("ok", "inference-key", "no-limit")
    # Of the credits API; /key answers an inference key, and no-limit answers, without a balance.
    failing_states: ClassVar[tuple[str, ...]] = ("inference-key",)

    def credential(self, request: web.Request, variant: str) -> str | None:
        header = request.headers.get("Authorization", "")
        return header.removeprefix("Bearer ") if header.startswith("Bearer ") else None

    def balance(self, account: SimAccount, request: web.Request) -> web.StreamResponse:
        if account.variant == "key":
            if account.state == "no-limit":
                return json_answer({"data": key_data(account, None, None)})
            account.served = account.balance
            limit, remaining = account.balance + KEY_USAGE, account.balance
            return json_answer({"data": key_data(account, number(limit), number(remaining))})
        if account.state == "inference-key":
            return error(403, MANAGEMENT_ONLY)
        account.served = account.balance
        credits = account.balance + CREDITS_USAGE
        return json_answer(
            {"data": {"total_credits": number(credits), "total_usage": number(CREDITS_USAGE)}}
        )

    def refused(self, status: int, variant: str) -> web.Response:
        if status == 403:
            return error(403, MANAGEMENT_ONLY if variant == "credits" else "Forbidden")
        return error(401, NO_AUTH)  # a wrong key too

    def rate_limited(self, wait: int, variant: str, *, announce: bool = True) -> web.Response:
        return error(429, "Rate limit exceeded", {"Retry-After": str(wait)} if announce else None)

    def server_error(self, status: int, variant: str) -> web.Response:
        return error(status, HTTPStatus(status).phrase)

    def with_amount(self, value: str, variant: str) -> dict[str, Any]:
        if variant == "key":
            return {"data": {"limit": 100, "limit_remaining": value, "usage": 25.5}}
        return {"data": {"total_credits": value, "total_usage": 25.75}}

    def shown(self, account: SimAccount, served: Decimal) -> Shown:
        return Shown("USD", {"balance": served})  # whatever the account's currency says

    def demo_accounts(self) -> DemoAccounts:
        return {
            "openrouter-main": (
                SimAccount(
                    "openrouter",
                    "demo-openrouter-management",
                    variant="credits",
                    balance=Decimal("74.75"),
                    scenario=DrainAndTopUp(Decimal("74.75"), Decimal("5.00"), Decimal("3.00")),
                ),
                "low_balance: 10",
            ),
            "openrouter-key": (
                SimAccount(
                    "openrouter",
                    "demo-openrouter-inference",
                    variant="key",
                    balance=Decimal("74.5"),
                ),
                "low_balance: 20",
            ),
        }

    def config_settings(self, account: SimAccount) -> dict[str, str]:
        return {
            "provider": "openrouter",
            "api": account.variant or "credits",
            "api_key": account.key,
        }
