"""Vonage (formerly Nexmo): GET /account/get-balance, HTTP Basic api_key:api_secret.

The success body is ``{"value": 10.17127500, "autoReload": false}``, the value a JSON number
with eight decimals, in EUR, with an ``X-Request-Id`` (UUID) header. The documented 401 is
``{"error-code": "401", "error-code-label": "authentication failed"}``. Other errors are not
documented for this path: they are Vonage's RFC 7807 problems ``{type, title, detail,
instance}``, sent as ``application/problem+json``. The spec also lets ``api_key`` and
``api_secret`` come as query parameters.

An account's ``key`` is its API secret; its API key (8 hex digits, as Vonage's) is derived
from it, so that every simulated account has its own pair.
"""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal
from typing import Any, ClassVar

from aiohttp import web

from balance_exporter.simulator.accounts import SimAccount
from balance_exporter.simulator.providers.base import (
    DemoAccounts,
    Route,
    Shown,
    SimProvider,
    basic_auth,
    json_answer,
)
from balance_exporter.simulator.scenarios import DrainAndTopUp

CURRENCY = "EUR"
EIGHT_DECIMALS = Decimal("1e-8")
ERRORS = "https://developer.vonage.com/api-errors"
AUTHENTICATION_FAILED = {"error-code": "401", "error-code-label": "authentication failed"}
# RFC 7807 (code, title, detail) by status; the instance is a trace id, fixed here so that an
# answer can be compared with another.
PROBLEMS = {
    403: (
        "forbidden",
        "Forbidden",
        "Your account does not have permission to perform this action",
    ),
    429: ("rate-limit", "Too Many Requests", "The request was rate limited"),
}
SERVER_PROBLEM = (
    "internal-error",
    "Internal Error",
    "An error has occurred in the platform while processing this request",
)


def api_key_for(secret: str) -> str:
    """The simulated account's API key: 8 hex digits, the first a letter (a YAML string)."""
    digest = hashlib.sha256(secret.encode()).hexdigest()
    return "abcdef"[int(digest[0], 16) % 6] + digest[1:8]


def problem(
    status: int, code: str, title: str, detail: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = {
        "type": f"{ERRORS}#{code}",
        "title": title,
        "detail": detail,
        "instance": hashlib.sha256(f"{status} {code}".encode()).hexdigest()[:32],
    }
    # RFC 7807's own media type, as Vonage sends its problems.
    return web.json_response(
        body, status=status, headers=headers, content_type="application/problem+json"
    )


def balance_text(value: Decimal, auto_reload: bool) -> str:
    """The body as Vonage writes it: the value a number with eight decimals, not a string."""
    return f'{{"value": {value:f}, "autoReload": {"true" if auto_reload else "false"}}}'


class VonageSim(SimProvider):
    name = "vonage"
    routes: ClassVar[tuple[Route, ...]] = (Route("/account/get-balance"),)
    # auto-reload: the account tops itself up (autoReload: true).
    states: ClassVar[tuple[str, ...]] = ("ok", "auto-reload")

    def credential(self, request: web.Request, variant: str) -> str | None:
        return _presented(request)[1]

    def authenticates(self, account: SimAccount, request: web.Request, variant: str) -> bool:
        user, password = _presented(request)
        return user == api_key_for(account.key) and password == account.key

    def balance(self, account: SimAccount, request: web.Request) -> web.StreamResponse:
        value = account.balance.quantize(EIGHT_DECIMALS)
        account.served = value
        return web.Response(
            text=balance_text(value, account.state == "auto-reload"),
            content_type="application/json",
            headers={"X-Request-Id": str(uuid.uuid4())},
        )

    def refused(self, status: int, variant: str) -> web.Response:
        if status == 403:
            return problem(403, *PROBLEMS[403])
        return json_answer(AUTHENTICATION_FAILED, 401)

    def rate_limited(self, wait: int, variant: str, *, announce: bool = True) -> web.Response:
        # Not documented for this path; the SDK reads 429 as a rate limit, Retry-After if sent.
        return problem(429, *PROBLEMS[429], {"Retry-After": str(wait)} if announce else None)

    def server_error(self, status: int, variant: str) -> web.Response:
        return problem(status, *SERVER_PROBLEM)

    def with_amount(self, value: str, variant: str) -> dict[str, Any]:
        return {"value": value, "autoReload": False}

    def shown(self, account: SimAccount, served: Decimal) -> Shown:
        return Shown(CURRENCY, {"balance": served})  # whatever the account's currency says

    def demo_accounts(self) -> DemoAccounts:
        return {
            # The documentation's own figure, eight decimals and all.
            "vonage-main": (
                SimAccount(
                    "vonage", "demo-vonage-main", balance=Decimal("10.171275"), currency=CURRENCY
                ),
                "low_balance: 20",
            ),
            # Auto-reload on: spends, then Vonage tops it up when it falls under the threshold.
            "vonage-auto-reload": (
                SimAccount(
                    "vonage",
                    "demo-vonage-reload",
                    balance=Decimal("50.00"),
                    currency=CURRENCY,
                    state="auto-reload",
                    scenario=DrainAndTopUp(Decimal("50.00"), Decimal("5.00"), Decimal("3.00")),
                ),
                "low_balance: 10",
            ),
        }

    def config_settings(self, account: SimAccount) -> dict[str, str]:
        return {
            "provider": "vonage",
            "api_key": api_key_for(account.key),
            "api_secret": account.key,
        }


def _presented(request: web.Request) -> tuple[str | None, str | None]:
    """The key and secret sent in the Authorization header, else as query parameters."""
    if "Authorization" in request.headers:
        return basic_auth(request)
    return request.query.get("api_key"), request.query.get("api_secret")
