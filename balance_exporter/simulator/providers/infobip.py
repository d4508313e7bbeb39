"""Infobip: GET /account/1/balance with ``Authorization: App <key>``; the balance a JSON number.

Errors are the legacy envelope ``{"requestError": {"serviceException": {"messageId", "text"}}}``
with the bodies of Infobip's OpenAPI and SDK tests. No rate-limit header is documented; its 429
announces the wait in Retry-After, which the docs say to honour when present.
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
    SimProvider,
    json_answer,
)

SCHEME = "App "


def error(
    status: int, message_id: str, text: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = {"requestError": {"serviceException": {"messageId": message_id, "text": text}}}
    return json_answer(body, status, headers)


class InfobipSim(SimProvider):
    name = "infobip"
    routes: ClassVar[tuple[Route, ...]] = (Route("/account/1/balance"),)
    # expired-key: the key passed its expiry date and is refused though it is the account's;
    # missing-scope: a key created without account-management:manage.
    states: ClassVar[tuple[str, ...]] = ("ok", "expired-key", "missing-scope")
    failing_states: ClassVar[tuple[str, ...]] = ("expired-key", "missing-scope")

    def credential(self, request: web.Request, variant: str) -> str | None:
        header = request.headers.get("Authorization", "")
        return header.removeprefix(SCHEME) if header.startswith(SCHEME) else None

    def balance(self, account: SimAccount, request: web.Request) -> web.StreamResponse:
        if account.state == "expired-key":
            return self.refused(401, "")
        if account.state == "missing-scope":
            return self.refused(403, "")
        account.served = account.balance
        # Written out so that the number keeps every decimal it has (47.79134), as Infobip's.
        text = f'{{"balance": {account.balance:f}, "currency": {json.dumps(account.currency)}}}'
        return web.Response(text=text, content_type="application/json")

    def refused(self, status: int, variant: str) -> web.Response:
        if status == 403:
            return error(403, "FORBIDDEN", "Forbidden")
        return error(401, "UNAUTHORIZED", "Invalid login details")

    def rate_limited(self, wait: int, variant: str, *, announce: bool = True) -> web.Response:
        headers = {"Retry-After": str(wait)} if announce else None
        return error(429, "TOO_MANY_REQUESTS", "Too many requests", headers)

    def server_error(self, status: int, variant: str) -> web.Response:
        return error(status, "GENERAL_ERROR", "Something went wrong. Please contact support.")

    def with_amount(self, value: str, variant: str) -> dict[str, Any]:
        return {"balance": value, "currency": "EUR"}

    def demo_accounts(self) -> DemoAccounts:
        return {
            "infobip-main": (
                SimAccount("infobip", "demo-infobip-key", balance=Decimal("47.79"), currency="EUR"),
                "low_balance: 20",
            ),
        }

    def config_settings(self, account: SimAccount) -> dict[str, str]:
        # No base_url: whoever polls the simulator gives its own (the demo, the fault matrix).
        return {"provider": "infobip", "api_key": account.key}
