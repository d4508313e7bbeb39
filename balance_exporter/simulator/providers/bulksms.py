"""BulkSMS: GET /v1/profile with HTTP Basic auth (username or API token id, and its secret).

The profile carries ``credits.balance`` as a JSON float and the daily message ``quota``, which
is not credits. Errors are RFC 7807 problem documents; the 401 is the documented
``#authentication-failed`` one. For the statuses BulkSMS documents no body for (403 on
/profile, 429, 5xx) the simulator answers the RFC's own ``about:blank`` problem, whose title is
the status phrase, rather than invent a BulkSMS error type.
"""

from __future__ import annotations

import hashlib
import json
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
    basic_auth,
    json_answer,
)
from balance_exporter.simulator.scenarios import DrainAndTopUp

ERRORS = "https://developer.bulksms.com/json/v1/errors"
AUTH_DETAIL = "Full authentication is required to access this resource"
CREATED = "2017-01-01T10:00:00+01:00"
QUOTA_SIZE = 5000
# Stands in for the balance while the body is encoded: it goes out as the exact JSON number.
_BALANCE = "\x00balance\x00"


def username_for(key: str) -> str:
    """The account's username; SimAccount has none, so it follows from the password."""
    return "bulk" + hashlib.sha256(key.encode()).hexdigest()[:8]


def profile_id(key: str) -> str:
    """The account's profile id, a string of digits as in the docs' example."""
    digest = hashlib.sha256(b"id:" + key.encode()).hexdigest()
    return str(1_000_000 + int(digest[:8], 16) % 9_000_000)


def problem(
    status: int,
    title: str,
    kind: str = "about:blank",
    detail: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body: dict[str, Any] = {"type": kind, "title": title, "status": status}
    if detail is not None:
        body["detail"] = detail
    return json_answer(body, status, headers)


def blank(status: int, headers: dict[str, str] | None = None) -> web.Response:
    """RFC 7807's problem with no type of its own: the title is the status phrase."""
    return problem(status, HTTPStatus(status).phrase, headers=headers)


def float_text(value: Decimal) -> str:
    """The exact number as a Java float field prints it: 1234.5, 100.0, -12.5."""
    text = f"{value.normalize():f}"
    return text if "." in text else text + ".0"


def profile(key: str, balance: Any, remaining: int = QUOTA_SIZE - 10) -> dict[str, Any]:
    return {
        "id": profile_id(key),
        "username": username_for(key),
        "created": CREATED,
        "credits": {"balance": balance, "isTransferAllowed": False, "limit": 0},
        "quota": {"size": QUOTA_SIZE, "remaining": remaining},
    }


class BulkSmsSim(SimProvider):
    name = "bulksms"
    routes: ClassVar[tuple[Route, ...]] = (Route("/v1/profile"),)
    # quota-used: today's message quota is spent; the credits are all still there.
    states: ClassVar[tuple[str, ...]] = ("ok", "quota-used")

    def credential(self, request: web.Request, variant: str) -> str | None:
        return basic_auth(request)[1]

    def authenticates(self, account: SimAccount, request: web.Request, variant: str) -> bool:
        user, password = basic_auth(request)
        return user == username_for(account.key) and password == account.key

    def balance(self, account: SimAccount, request: web.Request) -> web.StreamResponse:
        remaining = 0 if account.state == "quota-used" else QUOTA_SIZE - 10
        account.served = account.balance
        text = json.dumps(profile(account.key, _BALANCE, remaining))
        text = text.replace(json.dumps(_BALANCE), float_text(account.balance))
        return web.json_response(text=text)

    def refused(self, status: int, variant: str) -> web.Response:
        if status == 403:
            return blank(403)
        return problem(401, "Authentication Failed", f"{ERRORS}#authentication-failed", AUTH_DETAIL)

    def rate_limited(self, wait: int, variant: str, *, announce: bool = True) -> web.Response:
        # Nothing documented: a plain problem, the wait in Retry-After.
        return blank(429, {"Retry-After": str(wait)} if announce else None)

    def server_error(self, status: int, variant: str) -> web.Response:
        return blank(status)

    def with_amount(self, value: str, variant: str) -> dict[str, Any]:
        return profile("bulksms-amount", value)

    def shown(self, account: SimAccount, served: Decimal) -> Shown:
        return Shown("credits", {"balance": served})

    def account_id(self, account: SimAccount) -> str | None:
        return profile_id(account.key)

    def demo_accounts(self) -> DemoAccounts:
        return {
            "bulksms-main": (
                SimAccount(
                    "bulksms",
                    "demo-bulksms-main",
                    balance=Decimal("1234.5"),
                    currency="credits",
                    scenario=DrainAndTopUp(Decimal("1234.5"), Decimal("150"), Decimal("18")),
                ),
                "low_balance: 500",
            ),
        }

    def config_settings(self, account: SimAccount) -> dict[str, str]:
        return {
            "provider": "bulksms",
            "username": username_for(account.key),
            "password": account.key,
        }
