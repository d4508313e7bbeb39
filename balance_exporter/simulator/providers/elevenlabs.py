"""ElevenLabs: GET /v1/user/subscription with ``xi-api-key``; the subscription's credit counts.

The account's balance is ``character_limit - character_count`` of a plan (100,000 credits by
default); a balance below zero is usage-based billing letting the count pass the limit. Errors
are ``{"detail": {"status", "message"}}``: ``invalid_api_key`` for a wrong key,
``missing_permissions`` for a key without ``user_read`` (a 401; the 403 fault carries the same
body), ``quota_exceeded`` (a 401 too), ``too_many_concurrent_requests`` for a 429. No
rate-limit header is documented: its 429 may carry a Retry-After, as any provider's. The API is
served by uvicorn: a 5xx is Starlette's plain-text status phrase.

The counts are integers whenever the balance is a whole number of credits, as every real answer
is; the shared suites drive every simulator with balances such as 100.25, and those go out with
the fraction in ``character_count`` so that the figure stays exact.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
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

UNIT = "credits"
LIMIT = 100_000  # the Creator plan's credits a month
RESET = 1_772_323_200  # 2026-03-01T00:00:00Z, a month after the tests' wall clock
MISSING_PERMISSION = (
    "The API key you used is missing the permission user_read to execute this operation."
)


@dataclass
class ElevenLabsAccount(SimAccount):
    """An ElevenLabs account: its plan, its credits a period and when the period resets."""

    tier: str = "creator"
    character_limit: int = LIMIT
    reset: int | None = RESET


def plan(account: SimAccount) -> ElevenLabsAccount:
    """The account's plan fields; a plain SimAccount is on the default plan."""
    if isinstance(account, ElevenLabsAccount):
        return account
    return ElevenLabsAccount(account.provider, account.key)


def error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return json_answer({"detail": {"status": code, "message": message}}, status, headers)


def number(value: Decimal) -> str:
    """The exact JSON number: an integer when it is one."""
    return str(int(value)) if value == value.to_integral_value() else f"{value:f}"


def exact_json(body: dict[str, Any]) -> str:
    """``body`` as JSON text, each Decimal written out as the exact number it is."""
    numbers: dict[str, str] = {}
    for key, value in body.items():
        if isinstance(value, Decimal):
            numbers[key] = number(value)
            body = {**body, key: f"\x00{key}\x00"}
    text = json.dumps(body)
    for key, value in numbers.items():
        text = text.replace(json.dumps(f"\x00{key}\x00"), value)
    return text


def subscription(
    account: ElevenLabsAccount, count: Any, limit: Any, *, usage_billing: bool
) -> dict[str, Any]:
    return {
        "tier": account.tier,
        "character_count": count,
        "character_limit": limit,
        "next_character_count_reset_unix": account.reset,
        "status": "active",
        # 0 means usage-based billing is off; on, the count may pass the limit.
        "max_credit_limit_extension": "unlimited" if usage_billing else 0,
        "can_extend_character_limit": True,
    }


class ElevenLabsSim(SimProvider):
    name = "elevenlabs"
    routes: ClassVar[tuple[Route, ...]] = (Route("/v1/user/subscription"),)
    # missing-permissions: a key created without user_read; quota-exceeded: the documented
    # quota_exceeded 401, the period's credits spent.
    states: ClassVar[tuple[str, ...]] = ("ok", "missing-permissions", "quota-exceeded")
    failing_states: ClassVar[tuple[str, ...]] = ("missing-permissions", "quota-exceeded")

    def credential(self, request: web.Request, variant: str) -> str | None:
        return request.headers.get("xi-api-key")

    def balance(self, account: SimAccount, request: web.Request) -> web.StreamResponse:
        held = plan(account)
        if account.state == "missing-permissions":
            return error(401, "missing_permissions", MISSING_PERMISSION)
        if account.state == "quota-exceeded":
            return error(
                401,
                "quota_exceeded",
                f"This request exceeds your quota of {held.character_limit}. You have 0 credits"
                " remaining, while 1 credits are required for this request.",
            )
        # A balance beyond the plan's credits (a test's) takes a plan that large.
        limit = max(held.character_limit, math.ceil(account.balance))
        count = limit - account.balance
        body = subscription(held, count, Decimal(limit), usage_billing=account.balance < 0)
        account.served = account.balance
        return web.Response(text=exact_json(body), content_type="application/json")

    def refused(self, status: int, variant: str) -> web.Response:
        if status == 403:
            return error(403, "missing_permissions", MISSING_PERMISSION)
        return error(401, "invalid_api_key", "Invalid API key")

    def rate_limited(self, wait: int, variant: str, *, announce: bool = True) -> web.Response:
        return error(
            429,
            "too_many_concurrent_requests",
            "Too many concurrent requests for your subscription.",
            {"Retry-After": str(wait)} if announce else None,
        )

    def server_error(self, status: int, variant: str) -> web.Response:
        return web.Response(status=status, text=HTTPStatus(status).phrase)

    def with_amount(self, value: str, variant: str) -> dict[str, Any]:
        return subscription(plan(SimAccount(self.name, "")), 0, value, usage_billing=False)

    def shown(self, account: SimAccount, served: Decimal) -> Shown:
        reset = plan(account).reset
        other = {} if reset is None else {"quota_reset_timestamp_seconds": float(reset)}
        return Shown(UNIT, {"balance": served}, other)

    def demo_accounts(self) -> DemoAccounts:
        return {
            "elevenlabs-main": (
                ElevenLabsAccount(
                    self.name,
                    "demo-elevenlabs-main",
                    balance=Decimal("88000"),
                    currency=UNIT,
                    # A credit a second, whole credits always: 88,000 down to 20,000.
                    scenario=DrainAndTopUp(Decimal("88000"), Decimal("20000"), Decimal("60")),
                ),
                "low_balance: 25000",
            ),
            # Usage-based billing past the plan's credits; no reset time given (null).
            "elevenlabs-overage": (
                ElevenLabsAccount(
                    self.name,
                    "demo-elevenlabs-overage",
                    balance=Decimal("-12500"),
                    currency=UNIT,
                    tier="pro",
                    character_limit=500_000,
                    reset=None,
                ),
                "",
            ),
        }

    def config_settings(self, account: SimAccount) -> dict[str, str]:
        return {"provider": self.name, "api_key": account.key}
