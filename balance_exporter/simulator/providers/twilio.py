"""Twilio: GET /2010-04-01/Accounts/{sid}/Balance.json with HTTP Basic auth.

The SID in the path must be the account's; the user is that SID or an API key SID standing
for it. A subaccount answers a null balance, or 404 code 20404. Errors carry ``code``,
``message``, ``more_info`` and ``status``, and the useful text in ``detail``.
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
    basic_auth,
    json_answer,
)

DEMO_SID = "AC5e1ec7ed0000000000000000000000d1"
DEMO_SUB_SID = "AC5e1ec7ed0000000000000000000000d2"
AUTHENTICATE_DETAIL = "Your AccountSid or AuthToken was incorrect."


def error(
    status: int,
    code: int,
    message: str,
    headers: dict[str, str] | None = None,
    *,
    detail: str | None = None,
) -> web.Response:
    body: dict[str, Any] = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    return json_answer(body, status, headers)


class TwilioSim(SimProvider):
    name = "twilio"
    routes: ClassVar[tuple[Route, ...]] = (Route("/2010-04-01/Accounts/{sid}/Balance.json"),)
    states: ClassVar[tuple[str, ...]] = ("ok", "subaccount", "subaccount-404")
    failing_states: ClassVar[tuple[str, ...]] = ("subaccount", "subaccount-404")

    def credential(self, request: web.Request, variant: str) -> str | None:
        _, password = basic_auth(request)
        return password

    def authenticates(self, account: SimAccount, request: web.Request, variant: str) -> bool:
        user, password = basic_auth(request)
        return (
            account.account_sid == request.match_info["sid"]
            and user is not None
            and user in (account.account_sid, account.api_key_sid)
            and password == account.key
        )

    def balance(self, account: SimAccount, request: web.Request) -> web.StreamResponse:
        sid = request.match_info["sid"]
        if account.state == "subaccount-404":
            return error(
                404,
                20404,
                f"The requested resource /2010-04-01/Accounts/{sid}/Balance.json was not found",
            )
        if account.state == "subaccount":
            return json_answer({"account_sid": sid, "balance": None, "currency": None})
        account.served = account.balance
        return json_answer(
            {"account_sid": sid, "balance": f"{account.balance:f}", "currency": account.currency}
        )

    def refused(self, status: int, variant: str) -> web.Response:
        if status == 403:
            return error(403, 20003, "Permission Denied")
        return error(401, 20003, "Authenticate", detail=AUTHENTICATE_DETAIL)

    def rate_limited(self, wait: int, variant: str, *, announce: bool = True) -> web.Response:
        # Twilio's own SDKs never read Retry-After, and it is not always sent.
        return error(
            429, 20429, "Too Many Requests", {"Retry-After": str(wait)} if announce else None
        )

    def server_error(self, status: int, variant: str) -> web.Response:
        return error(status, 20500, "Internal Server Error")

    def with_amount(self, value: str, variant: str) -> dict[str, Any]:
        return {"balance": value, "currency": "USD", "account_sid": None}

    def account_id(self, account: SimAccount) -> str | None:
        return account.account_sid

    def demo_accounts(self) -> DemoAccounts:
        return {
            "voice": (
                SimAccount(
                    "twilio", "demo-twilio-token", balance=Decimal("84.27"), account_sid=DEMO_SID
                ),
                "low_balance: 100",
            ),
            "voice-subaccount": (
                SimAccount(
                    "twilio", "demo-twilio-sub", account_sid=DEMO_SUB_SID, state="subaccount"
                ),
                "",
            ),
        }

    def config_settings(self, account: SimAccount) -> dict[str, str]:
        return {
            "provider": "twilio",
            "account_sid": str(account.account_sid),
            "auth_token": account.key,
        }
