"""ClickSend: GET /v3/account with HTTP Basic, the API username and the API key.

Every answer is the envelope ``{"http_code", "response_code", "response_msg", ...}``, the
success one with ``data``: the account, its balance a string with six decimals, ``_currency``
and ``_subaccount``, which holds the API key itself (or is null). Error envelopes pair the
status with its code (401 ``UNAUTHORIZED``, 403 ``FORBIDDEN``, 429 ``TOO_MANY_REQUESTS``, 500
``INTERNAL_SERVER_ERROR``); their ``response_msg`` is the documented description of the code.

Assumed where the documentation is silent: an account that is not activated (ClickSend's test
user ``notactive``) answers HTTP 200 with ``ACCOUNT_NOT_ACTIVATED``, the application code being
given "in addition to the HTTP status code" as for sends; a 429 announces its wait in the
standard ``Retry-After`` (ClickSend documents no header); a 5xx other than 500 carries the
documented 5xx code.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any, ClassVar

from aiohttp import web

from balance_exporter.simulator.accounts import SimAccount
from balance_exporter.simulator.providers.base import (
    DemoAccounts,
    Route,
    SimProvider,
    basic_auth,
    json_answer,
)

# Each code with the description the status table gives it, as the envelope's response_msg.
UNAUTHORIZED = ("UNAUTHORIZED", "Authentication credentials were missing or incorrect.")
FORBIDDEN = (
    "FORBIDDEN",
    "The request is understood, but it has been refused or access is not allowed.",
)
TOO_MANY_REQUESTS = (
    "TOO_MANY_REQUESTS",
    "Rate Limit Exceeded. Returned when a request cannot be served due to the application's"
    " rate limit having been exhausted for the resource. See Rate Limiting.",
)
INTERNAL_SERVER_ERROR = ("INTERNAL_SERVER_ERROR", "Something is broken")
NOT_ACTIVATED = ("ACCOUNT_NOT_ACTIVATED", "Your account has not been activated.")
SUCCESS_MSG = "Here's your account."
# _currency as the documentation shows it for USD; the other names follow its pattern.
CURRENCIES = {
    "USD": ("$", "¢", "US Dollars"),
    "AUD": ("$", "¢", "Australian Dollars"),
    "NZD": ("$", "¢", "New Zealand Dollars"),
    "EUR": ("€", "c", "Euros"),
    "GBP": ("£", "p", "British Pounds"),
}


def username_for(key: str) -> str:
    """The account's API username; SimAccount has none, so it follows from the key."""
    return "cs" + hashlib.sha256(key.encode()).hexdigest()[:8]


def user_id(key: str) -> int:
    return 100 + int(hashlib.sha256(b"user:" + key.encode()).hexdigest()[:6], 16) % 900_000


def envelope(status: int, code: str, message: str, **more: Any) -> dict[str, Any]:
    return {"http_code": status, "response_code": code, "response_msg": message, **more}


def error(
    status: int, code_and_message: tuple[str, str], headers: dict[str, str] | None = None
) -> web.Response:
    return json_answer(envelope(status, *code_and_message), status, headers)


def balance_text(value: Decimal) -> str:
    """The balance as ClickSend writes it: a string with six decimals."""
    return f"{value:.6f}"


def currency_of(code: str) -> dict[str, str]:
    prefix_d, prefix_c, long_name = CURRENCIES.get(code, ("", "", code))
    return {
        "currency_name_short": code,
        "currency_prefix_d": prefix_d,
        "currency_prefix_c": prefix_c,
        "currency_name_long": long_name,
    }


def account_data(account: SimAccount, *, subaccount: bool = True) -> dict[str, Any]:
    """``data`` of the documented success body, field for field."""
    uid = user_id(account.key)
    return {
        "user_id": uid,
        "username": username_for(account.key),
        "active": 1,
        "banned": 0,
        "balance": balance_text(account.balance),
        "balance_commission": "0.000000",
        "auto_recharge": 0,
        "auto_recharge_amount": "20.00",
        "low_credit_amount": "0.00",
        "_currency": currency_of(account.currency),
        "_subaccount": {
            "subaccount_id": uid + 10,
            "api_username": username_for(account.key),
            "api_key": account.key,  # documented: the key itself comes back
            "access_billing": 1,
        }
        if subaccount
        else None,
    }


class ClickSendSim(SimProvider):
    name = "clicksend"
    routes: ClassVar[tuple[Route, ...]] = (Route("/v3/account"),)
    # no-subaccount: _subaccount is null; not-activated: the HTTP 200 failure (assumed).
    states: ClassVar[tuple[str, ...]] = ("ok", "no-subaccount", "not-activated")
    failing_states: ClassVar[tuple[str, ...]] = ("not-activated",)

    def credential(self, request: web.Request, variant: str) -> str | None:
        return basic_auth(request)[1]

    def authenticates(self, account: SimAccount, request: web.Request, variant: str) -> bool:
        user, key = basic_auth(request)
        return key == account.key and user == username_for(account.key)

    def balance(self, account: SimAccount, request: web.Request) -> web.StreamResponse:
        if account.state == "not-activated":
            return json_answer(envelope(200, *NOT_ACTIVATED))
        data = account_data(account, subaccount=account.state != "no-subaccount")
        account.served = Decimal(data["balance"])  # what was written, six decimals
        return json_answer(envelope(200, "SUCCESS", SUCCESS_MSG, data=data))

    def refused(self, status: int, variant: str) -> web.Response:
        return error(403, FORBIDDEN) if status == 403 else error(401, UNAUTHORIZED)

    def rate_limited(self, wait: int, variant: str, *, announce: bool = True) -> web.Response:
        return error(429, TOO_MANY_REQUESTS, {"Retry-After": str(wait)} if announce else None)

    def server_error(self, status: int, variant: str) -> web.Response:
        return error(status, INTERNAL_SERVER_ERROR)

    def with_amount(self, value: str, variant: str) -> dict[str, Any]:
        data = {"balance": value, "_currency": currency_of("USD")}
        return envelope(200, "SUCCESS", SUCCESS_MSG, data=data)

    def demo_accounts(self) -> DemoAccounts:
        return {
            # The figure: "25.1480" AUD, written with six decimals.
            "clicksend-main": (
                SimAccount(
                    "clicksend", "demo-clicksend-main", balance=Decimal("25.148"), currency="AUD"
                ),
                "low_balance: 10",
            ),
            # The documentation's own figure, for credentials of no sub-account.
            "clicksend-usd": (
                SimAccount(
                    "clicksend",
                    "demo-clicksend-usd",
                    balance=Decimal("4.998"),
                    currency="USD",
                    state="no-subaccount",
                ),
                "",
            ),
        }

    def config_settings(self, account: SimAccount) -> dict[str, str]:
        return {
            "provider": "clicksend",
            "username": username_for(account.key),
            "api_key": account.key,
        }
