"""DIDWW (API v3): GET /v3/balance with the key in ``Api-Key``; a JSON:API document.

The balance resource holds ``balance``, ``credit`` (the credit line) and ``total_balance``
(their sum) as strings with two decimals, and no currency. Errors are JSON:API error
documents whose ``code`` and ``status`` are strings. Only the 404 body ("Record not found",
code "404") is documented; the others are shaped like it, the status as their code. No 429
is documented either (the limit is 20 requests per second and key): this one is answered
like any provider's, in the same shape, with a Retry-After.
Every answer is ``application/vnd.api+json``, as DIDWW sends it.
"""

from __future__ import annotations

import uuid
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
)
from balance_exporter.simulator.scenarios import DrainAndTopUp

API_VERSION = "2021-12-15"  # the dated version of the documented example answer
CENTS = Decimal("0.01")
# The namespace of the balance ids: one stable UUID per simulated account, from its key.
BALANCE_IDS = uuid.UUID("5d1a3c3e-8f7b-4c2a-9b51-2f0d9e6a7c41")


MEDIA_TYPE = "application/vnd.api+json"


def jsonapi(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=status, headers=headers, content_type=MEDIA_TYPE)


def error(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = {
        "errors": [{"title": title, "detail": detail, "code": str(status), "status": str(status)}]
    }
    return jsonapi(body, status, headers)


def money(value: Decimal) -> str:
    """An amount as DIDWW writes it: a string with two decimals."""
    return f"{value.quantize(CENTS)}"


def credit_line(account: SimAccount) -> Decimal:
    return account.credit_limit if account.credit_limit is not None else Decimal("0.00")


def balance_id(key: str) -> str:
    return str(uuid.uuid5(BALANCE_IDS, key))


def resource(key: str, attributes: dict[str, Any]) -> dict[str, Any]:
    return {"id": balance_id(key), "type": "balances", "attributes": attributes}


class DidwwSim(SimProvider):
    name = "didww"
    routes: ClassVar[tuple[Route, ...]] = (Route("/v3/balance"),)

    def credential(self, request: web.Request, variant: str) -> str | None:
        return request.headers.get("Api-Key")

    def balance(self, account: SimAccount, request: web.Request) -> web.StreamResponse:
        credit = credit_line(account)
        attributes = {
            "balance": money(account.balance),
            "credit": money(credit),
            "total_balance": money(account.balance + credit),
        }
        account.served = account.balance
        return jsonapi(
            {"data": resource(account.key, attributes), "meta": {"api_version": API_VERSION}}
        )

    def refused(self, status: int, variant: str) -> web.Response:
        if status == 403:
            return error(403, "Forbidden", "You are not allowed to access this resource.")
        return error(401, "Unauthorized", "You are not authorized to access this resource.")

    def rate_limited(self, wait: int, variant: str, *, announce: bool = True) -> web.Response:
        return error(
            429,
            "Too Many Requests",
            "Rate limit exceeded: 20 requests per second for a single API key.",
            {"Retry-After": str(wait)} if announce else None,
        )

    def server_error(self, status: int, variant: str) -> web.Response:
        return error(status, HTTPStatus(status).phrase, "Please try again later.")

    def with_amount(self, value: str, variant: str) -> dict[str, Any]:
        attributes = {"balance": value, "credit": "0.00", "total_balance": "0.00"}
        return {"data": resource("with-amount", attributes), "meta": {"api_version": API_VERSION}}

    def shown(self, account: SimAccount, served: Decimal) -> Shown:
        # The two decimals DIDWW writes are what the exporter reads.
        balance, credit = served.quantize(CENTS), credit_line(account).quantize(CENTS)
        return Shown(
            account.currency,
            {"balance": balance, "credit_limit": credit, "available_credit": balance + credit},
        )

    def demo_accounts(self) -> DemoAccounts:
        return {
            "didww-main": (
                # The documented answer first (50.00, 10.00, 60.00), then spending.
                SimAccount(
                    "didww",
                    "demo-didww-main",
                    balance=Decimal("50.00"),
                    credit_limit=Decimal("10.00"),
                    scenario=DrainAndTopUp(Decimal("50.00"), Decimal("5.00"), Decimal("3.00")),
                ),
                "low_balance: 20",
            ),
            # Billed in euros, spending its credit line: below zero, money still available.
            "didww-credit-eur": (
                SimAccount(
                    "didww",
                    "demo-didww-eur",
                    balance=Decimal("-35.40"),
                    currency="EUR",
                    credit_limit=Decimal("100.00"),
                ),
                "",
            ),
        }

    def config_settings(self, account: SimAccount) -> dict[str, str]:
        keys = {"provider": "didww", "api_key": account.key}
        if account.currency != "USD":  # the exporter's default
            keys["currency"] = account.currency
        return keys
