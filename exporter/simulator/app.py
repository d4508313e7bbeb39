"""One aiohttp application answering as all five providers do, per their documentation.

Accounts are keyed by their credential; a wrong credential gets that provider's own
401/403 body. Each account can be set to a state (setup, degraded, credit-blocked,
subaccount) or given a fault, and every request is counted per account.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from aiohttp import web

from exporter.simulator import responses as say


@dataclass
class SimAccount:
    """A simulated account. ``key`` is the credential the exporter must present."""

    provider: str  # telnyx, twilio, clickatell, clickatell-platform, youcom, 23telecom
    key: str
    balance: Decimal = Decimal("100.00")
    currency: str = "USD"
    credit_limit: Decimal | None = None
    pending: Decimal | None = None
    account_sid: str | None = None  # Twilio
    entity_id: str | None = None  # You.com billing entity
    updated: str = "2026.02.13 10:15:00"  # 23 Telecom
    state: str = "ok"  # ok | setup | degraded | degraded-header | subaccount
    fault: str | None = None
    retry_after: str = "30"

    @property
    def credit_blocked(self) -> bool:
        return self.balance <= 0


@dataclass
class Simulator:
    accounts: dict[str, SimAccount] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    release: asyncio.Event = field(default_factory=asyncio.Event)  # ends hung requests

    def add(self, name: str, account: SimAccount) -> SimAccount:
        self.accounts[name] = account
        return account

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v2/balance", self._telnyx)
        app.router.add_get("/2010-04-01/Accounts/{sid}/Balance.json", self._twilio)
        app.router.add_get("/rest/account/balance", self._clickatell_rest)
        app.router.add_get("/public-client/balance", self._clickatell_platform)
        app.router.add_get("/v1/billing/account_balance", self._youcom)
        app.router.add_get("/api/v1/user/balance", self._telecom23)
        return app

    def _find(self, provider: str, key: str | None) -> tuple[str, SimAccount] | None:
        for name, account in self.accounts.items():
            if account.provider == provider and key is not None and account.key == key:
                self.requests[name] += 1
                return name, account
        return None

    async def _faulted(
        self, account: SimAccount, request: web.Request
    ) -> web.StreamResponse | None:
        if account.fault is None:
            return None
        if account.fault == "hang":
            await self.release.wait()
        return await say.fault(account.fault, account.provider, request, account.retry_after)

    async def _telnyx(self, request: web.Request) -> web.StreamResponse:
        found = self._find("telnyx", _bearer(request))
        if found is None:
            return say.telnyx_error(
                401,
                "10009",
                "Authentication failed",
                "Could not understand the provided credentials.",
            )
        account = found[1]
        return await self._faulted(account, request) or web.json_response(
            {"data": say.telnyx_balance(account)}
        )

    async def _twilio(self, request: web.Request) -> web.StreamResponse:
        sid = request.match_info["sid"]
        user, password = _basic(request)
        found = None
        for name, account in self.accounts.items():
            if (
                account.provider == "twilio"
                and account.account_sid == sid
                and account.key == password
            ):
                self.requests[name] += 1
                found = account
        if found is None or user is None:
            return say.twilio_error(401, 20003, "Authenticate")
        if (fault := await self._faulted(found, request)) is not None:
            return fault
        if found.state == "subaccount":
            return web.json_response({"account_sid": sid, "balance": None, "currency": None})
        return web.json_response(
            {"account_sid": sid, "balance": f"{found.balance:f}", "currency": found.currency}
        )

    async def _clickatell_rest(self, request: web.Request) -> web.StreamResponse:
        found = self._find("clickatell", _bearer(request))
        if found is None or request.headers.get("X-Version") != "1":
            return say.clickatell_error(401, "001", "Authentication failed")
        account = found[1]
        return await self._faulted(account, request) or web.json_response(
            {"data": {"balance": f"{account.balance:f}"}}
        )

    async def _clickatell_platform(self, request: web.Request) -> web.StreamResponse:
        found = self._find("clickatell-platform", request.headers.get("Authorization"))
        if found is None:
            return say.clickatell_error(401, 1, "Authentication failed")
        account = found[1]
        return await self._faulted(account, request) or web.json_response(
            {"balance": float(account.balance), "currency": account.currency}
        )

    async def _youcom(self, request: web.Request) -> web.StreamResponse:
        found = self._find("youcom", request.headers.get("X-API-Key"))
        if found is None:
            return web.json_response({"detail": "Invalid or missing API key"}, status=401)
        account = found[1]
        body = {
            "data": {
                "type": "account",
                "id": account.entity_id or "ent_0000",
                "attributes": {"balance": float(account.balance * 100)},
            }
        }
        return await self._faulted(account, request) or web.json_response(body)

    async def _telecom23(self, request: web.Request) -> web.StreamResponse:
        found = self._find("23telecom", request.headers.get("X-API-Key"))
        if found is None:
            return web.json_response(
                {
                    "status": False,
                    "error_code": "INVALID_API_KEY",
                    "description": "Invalid API key",
                },
                status=401,
            )
        account = found[1]
        if (fault := await self._faulted(account, request)) is not None:
            return fault
        return say.telecom23_balance(account)


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    return header.removeprefix("Bearer ") if header.startswith("Bearer ") else None


def _basic(request: web.Request) -> tuple[str | None, str | None]:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None, None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    return user, password
