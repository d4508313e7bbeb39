"""SerpApi: GET /account.json with the key in the ``api_key`` query parameter.

The answer is the documented account body, the key echoed in ``api_key``. The balance is
``total_searches_left``; in the ordinary state it is all plan searches (no extra credits) and
the plan renews on 2027-01-01 (the issue's example). ``credits-only``: an account without a
monthly plan, whose searches are all extra credits and whose ``plan_renewal_date`` is null;
the page does not give such a plan's id and name, so "none" / "No plan" stand in.
``out-of-searches``: the documented 429 ``{"error": "Your account has run out of searches."}``.

Errors are ``{"error": "<text>"}``. The 401 text is the documented one; for 403, 429 (hourly
throughput) and 5xx the page describes the case without quoting a text, so the texts here say
what the descriptions say. No wait header is documented; the throttle announces its wait in
``Retry-After`` (as the shared suites need of every simulated provider), ``announce=False``
sends none.

A balance below zero is served as 0 searches left (the count stops at none). Searches are
whole numbers; a balance with a fraction, which only the shared test suites set (to check
that figures are read exactly), goes out as that exact JSON number.
"""

from __future__ import annotations

import hashlib
import json
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
from balance_exporter.simulator.scenarios import DrainAndTopUp

UNIT = "searches"
RENEWAL = "2027-01-01"
SEARCHES_PER_MONTH = 30000
RATE_LIMIT_PER_HOUR = 6000
INVALID_KEY = "Invalid API key. Your API key should be here: https://serpapi.com/manage-api-key"
NO_PERMISSION = (
    "The account associated with this API key doesn't have permission to perform the request."
)
THROTTLED = "The number of requests sent using this API key exceeds the hourly throughput limit."
OUT_OF_SEARCHES = "Your account has run out of searches."
SERVER_ERROR = "Something went wrong on SerpApi's end."
# Stands in for the count while the body is encoded: it goes out as the exact JSON number.
_LEFT = "\x00left\x00"


def error(status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
    return json_answer({"error": text}, status, headers)


def account_id_for(key: str) -> str:
    """The account's id, 24 hex digits as in the docs; SimAccount has none, so it follows
    from the key."""
    return hashlib.sha256(b"serpapi:" + key.encode()).hexdigest()[:24]


def renewal_timestamp() -> float:
    """What the exporter makes of the plan's renewal date: midnight UTC."""
    return datetime.strptime(RENEWAL, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()


def account_body(key: str, left: Any, *, plan: bool = True, used: int = 0) -> dict[str, Any]:
    """The documented body; ``left`` is both the total and, with a plan, the plan's share."""
    return {
        "account_id": account_id_for(key),
        "api_key": key,
        "account_email": "demo@serpapi.com",
        "account_status": "Active",
        "plan_id": "bigdata" if plan else "none",
        "plan_name": "Big Data Plan" if plan else "No plan",
        "plan_monthly_price": 250.0 if plan else 0.0,
        "plan_renewal_date": RENEWAL if plan else None,
        "searches_per_month": SEARCHES_PER_MONTH if plan else 0,
        "plan_searches_left": left if plan else 0,
        "extra_credits": 0 if plan else left,
        "total_searches_left": left,
        "this_month_usage": used,
        "this_hour_searches": 87,
        "last_hour_searches": 42,
        "account_rate_limit_per_hour": RATE_LIMIT_PER_HOUR,
    }


def number_text(value: Decimal) -> str:
    """A whole count as a JSON integer; any other value as its exact decimal text."""
    if value == value.to_integral_value():
        return str(int(value))
    return f"{value.normalize():f}"


class SerpApiSim(SimProvider):
    name = "serpapi"
    routes: ClassVar[tuple[Route, ...]] = (Route("/account.json"),)
    states: ClassVar[tuple[str, ...]] = ("ok", "credits-only", "out-of-searches")
    failing_states: ClassVar[tuple[str, ...]] = ("out-of-searches",)

    def credential(self, request: web.Request, variant: str) -> str | None:
        return request.query.get("api_key")

    def balance(self, account: SimAccount, request: web.Request) -> web.StreamResponse:
        if account.state == "out-of-searches":
            return error(429, OUT_OF_SEARCHES)
        left = max(account.balance, Decimal(0))
        plan = account.state != "credits-only"
        used = max(SEARCHES_PER_MONTH - int(left), 0) if plan else 0
        account.served = left
        text = json.dumps(account_body(account.key, _LEFT, plan=plan, used=used))
        return web.json_response(text=text.replace(json.dumps(_LEFT), number_text(left)))

    def refused(self, status: int, variant: str) -> web.Response:
        return error(403, NO_PERMISSION) if status == 403 else error(401, INVALID_KEY)

    def rate_limited(self, wait: int, variant: str, *, announce: bool = True) -> web.Response:
        return error(429, THROTTLED, {"Retry-After": str(wait)} if announce else None)

    def server_error(self, status: int, variant: str) -> web.Response:
        return error(status, SERVER_ERROR)

    def with_amount(self, value: str, variant: str) -> dict[str, Any]:
        return account_body("serpapi-amount", value)

    def shown(self, account: SimAccount, served: Decimal) -> Shown:
        if account.state == "credits-only":  # no plan, no renewal date: no reset time
            return Shown(UNIT, {"balance": served})
        return Shown(
            UNIT, {"balance": served}, {"quota_reset_timestamp_seconds": renewal_timestamp()}
        )

    def account_id(self, account: SimAccount) -> str | None:
        return account_id_for(account.key)

    def demo_accounts(self) -> DemoAccounts:
        return {
            "serpapi-main": (
                SimAccount("serpapi", "demo-serpapi-main", balance=Decimal(5958), currency=UNIT),
                "low_balance: 1000",
            ),
            # One search a second: whole counts at every poll.
            "serpapi-credits": (
                SimAccount(
                    "serpapi",
                    "demo-serpapi-credits",
                    balance=Decimal(1200),
                    currency=UNIT,
                    state="credits-only",
                    scenario=DrainAndTopUp(Decimal(1200), Decimal(200), Decimal(60)),
                ),
                "",
            ),
        }

    def config_settings(self, account: SimAccount) -> dict[str, str]:
        return {"provider": "serpapi", "api_key": account.key}
