"""http_json: a made-up wallet API that the declarative provider is configured to read.

GET /http-json/v1/wallet with a Bearer key answers ``{"ok", "status", "wallet", "meta"}``: the
wallet's home currency, its balances in integer cents, one entry per currency (the one in the
home currency is not the first: only a filter finds it), an overdraft, and whether it is
frozen. Its config (config_settings) exercises the paths, the 0.01 scale, a filter, the
conditions and the error paths. An account in setup answers ``status: "setup"`` and no wallet;
a degraded one ``meta.stale: true`` and a zero it must not be believed for; a suspended one an
HTTP 200 with ``ok: false`` and an error. Errors: ``{"ok": false, "error": {code, message}}``;
its 429 sends Retry-After.
"""

from __future__ import annotations

import json
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

PATH = "/http-json/v1/wallet"
# Its errors' codes, and the reasons the config maps them to (the status says as much; the
# mapping shows the key at work). E_SUSPENDED is left to the default for an HTTP-200 failure.
CODE_REASONS = {"E_AUTH": "auth", "E_RATE": "rate_limited"}
SUSPENDED = ("E_SUSPENDED", "Wallet suspended: payment overdue")


def cents(value: Decimal) -> int | str:
    """An amount in integer cents; a sub-cent amount (set through the control interface) as a
    numeric string, which the exporter reads exactly too."""
    scaled = value * 100
    return int(scaled) if scaled == scaled.to_integral_value() else f"{scaled:f}"


def error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return json_answer({"ok": False, "error": {"code": code, "message": message}}, status, headers)


def other_currency(account: SimAccount) -> str:
    return "EUR" if account.currency != "EUR" else "USD"


def wallet(account: SimAccount, balance: Decimal) -> dict[str, Any]:
    body: dict[str, Any] = {
        "currency": account.currency,
        "frozen": balance <= 0,
        # The entry in another currency comes first: ``balances[0]`` would be wrong.
        "balances": [
            {"currency": other_currency(account), "amount_cents": 2500},
            {"currency": account.currency, "amount_cents": cents(balance)},
        ],
    }
    if account.credit_limit is not None:
        body["overdraft_cents"] = cents(account.credit_limit)
    if account.pending is not None:
        body["pending_cents"] = cents(account.pending)
    return body


def quoted(value: str) -> str:
    """A config value written so that it stays one YAML scalar inside the demo's flow mapping."""
    return json.dumps(value)


class HttpJsonSim(SimProvider):
    name = "http_json"
    routes: ClassVar[tuple[Route, ...]] = (Route(PATH),)
    states: ClassVar[tuple[str, ...]] = ("ok", "setup", "degraded", "suspended")
    failing_states: ClassVar[tuple[str, ...]] = ("suspended",)

    def credential(self, request: web.Request, variant: str) -> str | None:
        header = request.headers.get("Authorization", "")
        return header.removeprefix("Bearer ") if header.startswith("Bearer ") else None

    def balance(self, account: SimAccount, request: web.Request) -> web.StreamResponse:
        if account.state == "setup":
            return json_answer({"ok": True, "status": "setup", "meta": {"stale": False}})
        if account.state == "degraded":  # a stale cache: a zero that is not the balance
            body = {"ok": True, "status": "active", "wallet": wallet(account, Decimal(0))}
            return json_answer({**body, "meta": {"stale": True}})
        if account.state == "suspended":
            return error(200, *SUSPENDED)
        account.served = account.balance
        return json_answer(
            {
                "ok": True,
                "status": "active",
                "wallet": wallet(account, account.balance),
                "meta": {"stale": False},
            }
        )

    def refused(self, status: int, variant: str) -> web.Response:
        if status == 403:
            return error(403, "E_FORBIDDEN", "This key may not read the wallet")
        return error(401, "E_AUTH", "Invalid API key")

    def rate_limited(self, wait: int, variant: str, *, announce: bool = True) -> web.Response:
        headers = {"Retry-After": str(wait)} if announce else None
        return error(429, "E_RATE", "Too many requests", headers)

    def server_error(self, status: int, variant: str) -> web.Response:
        return error(status, "E_INTERNAL", "Internal error")

    def with_amount(self, value: str, variant: str) -> dict[str, Any]:
        return {
            "ok": True,
            "status": "active",
            "wallet": {
                "currency": "USD",
                "frozen": False,
                "balances": [{"currency": "USD", "amount_cents": value}],
            },
            "meta": {"stale": False},
        }

    def shown(self, account: SimAccount, served: Decimal) -> Shown:
        money = {"balance": served}
        if account.credit_limit is not None:
            money["credit_limit"] = account.credit_limit
        if account.pending is not None:
            money["pending"] = account.pending
        return Shown(account.currency, money, {"credit_blocked": float(served <= 0)})

    def demo_accounts(self) -> DemoAccounts:
        return {
            "acme-wallet": (
                SimAccount(
                    "http_json",
                    "demo-http-json-acme",
                    balance=Decimal("250.00"),
                    credit_limit=Decimal("50.00"),
                    scenario=DrainAndTopUp(Decimal("250.00"), Decimal("20.00"), Decimal("5.00")),
                ),
                "low_balance: 100",
            ),
        }

    def config_settings(self, account: SimAccount) -> dict[str, str]:
        reasons = ", ".join(f"{code}: {word}" for code, word in CODE_REASONS.items())
        return {
            "provider": "http_json",
            "url": f"https://api.acme.example{PATH}",
            "auth": "bearer",
            "api_key": account.key,
            "balance": quoted(
                f"wallet.balances[?currency=='{account.currency}'].amount_cents | [0]"
            ),
            "scale": "0.01",
            "currency_path": "wallet.currency",
            "credit_limit": "wallet.overdraft_cents",
            "pending": "wallet.pending_cents",
            "blocked_when": "wallet.frozen",
            "degraded_when": "meta.stale",
            "not_ready_when": quoted("status == 'setup'"),
            "error_when": quoted("ok == `false`"),
            "error_code": "error.code",
            "error_message": "error.message",
            "code_reasons": f"{{{reasons}}}",
        }
