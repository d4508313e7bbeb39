"""DeepSeek: GET /user/balance with a Bearer key; an entry per currency in ``balance_infos``.

Amounts are strings with two decimals; ``is_available`` is false once no currency has money
left. Errors are OpenAI-style ``{"error": {message, type, param, code}}`` with the generic
code ``invalid_request_error``. Only the 401 body is documented (observed: it quotes the key's
last four characters; the app answers a wrong key without showing it the key, so this one
quotes the documented example's ``abcd``); the others are shaped like it, with DeepSeek's names
for the statuses as their messages. DeepSeek documents no rate-limit headers: its 429 may carry
a Retry-After, as any provider's.
"""

from __future__ import annotations

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

CENTS = Decimal("0.01")
INVALID_KEY = "Authentication Fails, Your api key: ****abcd is invalid"
# DeepSeek's names for its statuses (its error-code page).
STATUS_NAMES = {429: "Rate Limit Reached", 500: "Server Error", 503: "Server Overloaded"}


@dataclass
class DeepSeekAccount(SimAccount):
    """A DeepSeek account: its balance in ``currency`` first, then ``further`` currencies'."""

    further: tuple[tuple[str, Decimal], ...] = ()


def further(account: SimAccount) -> tuple[tuple[str, Decimal], ...]:
    return account.further if isinstance(account, DeepSeekAccount) else ()


def money(value: Decimal) -> str:
    """An amount as DeepSeek writes it: a string with two decimals."""
    return f"{value.quantize(CENTS)}"


def entry(currency: str, total: str, topped_up: str) -> dict[str, str]:
    return {
        "currency": currency,
        "total_balance": total,
        "granted_balance": "0.00",  # no promotional grant: all of it was paid for
        "topped_up_balance": topped_up,
    }


def error(
    status: int, message: str, kind: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = {
        "error": {"message": message, "type": kind, "param": None, "code": "invalid_request_error"}
    }
    return json_answer(body, status, headers)


class DeepSeekSim(SimProvider):
    name = "deepseek"
    routes: ClassVar[tuple[Route, ...]] = (Route("/user/balance"),)

    def credential(self, request: web.Request, variant: str) -> str | None:
        header = request.headers.get("Authorization", "")
        return header.removeprefix("Bearer ") if header.startswith("Bearer ") else None

    def balance(self, account: SimAccount, request: web.Request) -> web.StreamResponse:
        balances = [(account.currency, account.balance), *further(account)]
        account.served = account.balance
        return json_answer(
            {
                "is_available": _available(balances),
                "balance_infos": [
                    entry(currency, money(total), money(total)) for currency, total in balances
                ],
            }
        )

    def refused(self, status: int, variant: str) -> web.Response:
        if status == 403:  # not documented: shaped like its 401
            return error(403, "Permission Denied", "permission_error")
        return error(401, INVALID_KEY, "authentication_error")

    def rate_limited(self, wait: int, variant: str, *, announce: bool = True) -> web.Response:
        return error(
            429,
            STATUS_NAMES[429],
            "rate_limit_error",
            {"Retry-After": str(wait)} if announce else None,
        )

    def server_error(self, status: int, variant: str) -> web.Response:
        name = STATUS_NAMES.get(status, HTTPStatus(status).phrase)
        return error(status, name, "server_error")

    def with_amount(self, value: str, variant: str) -> dict[str, Any]:
        return {"is_available": True, "balance_infos": [entry("CNY", value, value)]}

    def shown(self, account: SimAccount, served: Decimal) -> Shown:
        # The two decimals DeepSeek writes are what the exporter reads.
        balances = [(account.currency, served), *further(account)]
        return Shown(
            account.currency,
            {"balance": served.quantize(CENTS)},
            {"credit_blocked": float(not _available(balances))},
            {currency: total.quantize(CENTS) for currency, total in further(account)},
        )

    def demo_accounts(self) -> DemoAccounts:
        return {
            # Topped up in both currencies: a balance series for each.
            "deepseek-main": (
                DeepSeekAccount(
                    "deepseek",
                    "demo-deepseek-main",
                    balance=Decimal("110.00"),
                    currency="CNY",
                    further=(("USD", Decimal("12.40")),),
                ),
                "low_balance: 20",
            ),
        }

    def config_settings(self, account: SimAccount) -> dict[str, str]:
        return {"provider": "deepseek", "api_key": account.key}


def _available(balances: list[tuple[str, Decimal]]) -> bool:
    """Usable for API calls while any currency has money left."""
    return any(total > 0 for _, total in balances)
