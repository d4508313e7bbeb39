"""MessageBird: GET /balance with ``Authorization: AccessKey <key>`` (or ``?access_key=``).

The answer is ``{"payment", "type", "amount"}``: ``type`` is the unit word of the account's
currency (``euros``, ``pounds``, ``dollars``, ``credits``) or its ISO code, ``amount`` a JSON
number (an integer literal when whole, as in the docs' ``103``). A postpaid account answers
amount 0. Errors are ``{"errors": [{code, description, parameter}]}``; 429 and 5xx are not
documented for this path (see the answers below).
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

# The unit word ``type`` uses for a currency; other currencies go by their ISO code.
WORDS = {"EUR": "euros", "GBP": "pounds", "USD": "dollars", "credits": "credits"}
INCORRECT_KEY = "Request not allowed (incorrect access_key)"


def error(status: int, code: int, description: str, parameter: str | None = None) -> web.Response:
    body = {"errors": [{"code": code, "description": description, "parameter": parameter}]}
    return json_answer(body, status)


def unit(account: SimAccount) -> str:
    return WORDS.get(account.currency, account.currency)


def number(value: Decimal) -> int | float:
    """A JSON number as MessageBird writes one: ``103`` when whole, else ``9.2``."""
    return int(value) if value == value.to_integral_value() else float(value)


class MessagebirdSim(SimProvider):
    name = "messagebird"
    routes: ClassVar[tuple[Route, ...]] = (Route("/balance"),)
    states: ClassVar[tuple[str, ...]] = ("ok", "postpaid")

    def credential(self, request: web.Request, variant: str) -> str | None:
        header = request.headers.get("Authorization", "")
        if header.startswith("AccessKey "):
            return header.removeprefix("AccessKey ")
        # Documented for clients that cannot send a header; the exporter never uses it.
        return request.query.get("access_key")

    def balance(self, account: SimAccount, request: web.Request) -> web.StreamResponse:
        if account.state == "postpaid":  # always 0: no balance to trust
            return json_answer({"payment": "postpaid", "type": unit(account), "amount": 0})
        account.served = account.balance
        return json_answer(
            {"payment": "prepaid", "type": unit(account), "amount": number(account.balance)}
        )

    def refused(self, status: int, variant: str) -> web.Response:
        if status == 403:  # not documented: code 2 is MessageBird's "Request not allowed"
            return error(403, 2, "Request not allowed")
        # Also what a missing or malformed header gets.
        return error(401, 2, INCORRECT_KEY, "access_key")

    def rate_limited(self, wait: int, variant: str, *, announce: bool = True) -> web.Response:
        # Not documented for /balance: a bare HTTP 429, the wait in Retry-After when announced.
        return web.Response(status=429, headers={"Retry-After": str(wait)} if announce else None)

    def server_error(self, status: int, variant: str) -> web.Response:
        # Not documented for /balance: the errors array with MessageBird's code 99.
        return error(status, 99, "Internal error")

    def with_amount(self, value: str, variant: str) -> dict[str, Any]:
        return {"payment": "prepaid", "type": "euros", "amount": value}

    def demo_accounts(self) -> DemoAccounts:
        return {
            "messagebird-main": (
                SimAccount(
                    "messagebird", "demo-messagebird-eu", balance=Decimal("9.2"), currency="EUR"
                ),
                "low_balance: 20",
            ),
            "messagebird-credits": (
                SimAccount(
                    "messagebird",
                    "demo-messagebird-credits",
                    balance=Decimal("4200"),
                    currency="credits",
                ),
                "",
            ),
        }

    def config_settings(self, account: SimAccount) -> dict[str, str]:
        return {"provider": "messagebird", "access_key": account.key}
