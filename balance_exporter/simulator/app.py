"""One aiohttp application answering as all five providers do, per their documentation.

Accounts are found by their credential; a wrong one gets that provider's own 401 body.
Each account can be given a state (setup, degraded, subaccount...), a fault or a scenario;
every request is counted per account, and each account is rate limited the provider's way.
A control interface under /-/sim/ lets tests and the demo read and change all of it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import BasicAuth, web

from balance_exporter.simulator import responses as say
from balance_exporter.simulator.accounts import STATES, SimAccount


@dataclass
class RateLimit:
    """At most ``requests`` per ``window`` seconds per account, as the providers enforce."""

    requests: int = 20
    window: float = 60.0


@dataclass
class Simulator:
    accounts: dict[str, SimAccount] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time  # for the HTTP dates it writes (Retry-After)
    rate_limit: RateLimit = field(default_factory=RateLimit)
    release: asyncio.Event = field(default_factory=asyncio.Event)  # ends every hung request
    started: float | None = None
    _recent: dict[str, deque[float]] = field(default_factory=dict)

    def add(self, name: str, account: SimAccount) -> SimAccount:
        self.accounts[name] = account
        return account

    def elapsed(self) -> float:
        if self.started is None:
            self.started = self.clock()
        return self.clock() - self.started

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v2/balance", self._bearer("telnyx"))
        app.router.add_get("/2010-04-01/Accounts/{sid}/Balance.json", self._twilio)
        app.router.add_get("/rest/account/balance", self._bearer("clickatell"))
        app.router.add_get(
            "/public-client/balance", self._header("clickatell-platform", "Authorization")
        )
        app.router.add_get("/v1/billing/account_balance", self._header("youcom", "X-API-Key"))
        app.router.add_get("/api/v1/user/balance", self._header("23telecom", "X-API-Key"))
        app.router.add_get("/-/sim/accounts", self._list)
        app.router.add_post("/-/sim/accounts/{name}", self._change)
        app.router.add_post("/-/sim/release", self._release)
        self.elapsed()  # scenarios count from here
        return app

    # --- provider endpoints ---

    def _bearer(self, provider: str) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.StreamResponse:
            header = request.headers.get("Authorization", "")
            key = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
            if provider == "clickatell" and request.headers.get("X-Version") != "1":
                key = None  # the REST API answers only versioned requests
            return await self._answer(provider, key, request)

        return handle

    def _header(self, provider: str, name: str) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._answer(provider, request.headers.get(name), request)

        return handle

    async def _twilio(self, request: web.Request) -> web.StreamResponse:
        user, password = _basic_auth(request)
        sid = request.match_info["sid"]
        for name, account in self.accounts.items():
            if (
                account.provider == "twilio"
                and account.account_sid == sid
                and user is not None
                and user in (account.account_sid, account.api_key_sid)
                and password == account.key
            ):
                return await self._serve(name, account, request, sid)
        return say.refused("twilio", 401)

    async def _answer(
        self, provider: str, key: str | None, request: web.Request
    ) -> web.StreamResponse:
        for name, account in self.accounts.items():
            if account.provider == provider and key == account.key:
                return await self._serve(name, account, request, "")
        return say.refused(provider, 401)

    async def _serve(
        self, name: str, account: SimAccount, request: web.Request, sid: str
    ) -> web.StreamResponse:
        self.requests[name] += 1
        if account.scenario is not None:
            account.scenario.apply(account, self.elapsed())
        wait = self._over_limit(name)
        if wait is not None:
            return say.rate_limited(account.provider, wait)
        if account.fault is not None:
            return await say.fault(
                account.fault, account, request, self.release.wait, self.wall_clock
            )
        if account.provider == "clickatell" and _wants_xml(request):
            return say.clickatell_rest_xml(account)
        return say.balance(account, sid)

    def _over_limit(self, name: str) -> int | None:
        now = self.clock()
        recent = self._recent.setdefault(name, deque())
        while recent and recent[0] <= now - self.rate_limit.window:
            recent.popleft()
        if len(recent) >= self.rate_limit.requests:
            return max(1, math.ceil(recent[0] + self.rate_limit.window - now))
        recent.append(now)
        return None

    # --- control interface ---

    def _describe(self, name: str) -> dict[str, Any]:
        return {**self.accounts[name].describe(), "requests": self.requests[name]}

    async def _list(self, request: web.Request) -> web.Response:
        return web.json_response({name: self._describe(name) for name in self.accounts})

    async def _change(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        account = self.accounts.get(name)
        if account is None:
            raise web.HTTPNotFound(text="no such simulated account\n")
        try:
            change = await request.json()
        except ValueError:
            change = None  # not JSON at all: refused as any body that is not an object
        problems = apply_change(account, change)
        if problems:
            return web.Response(status=400, text="\n".join(problems) + "\n")
        return web.json_response(self._describe(name))

    async def _release(self, request: web.Request) -> web.Response:
        self.release.set()
        self.release = asyncio.Event()
        return web.Response(text="released\n")


def apply_change(account: SimAccount, change: Any) -> list[str]:
    """Set balance, state, fault, retry_after or stop the scenario; a list of problems otherwise.

    Nothing is changed unless the whole change is valid.
    """
    if not isinstance(change, dict):
        return ["body must be a JSON object"]
    problems = [
        f"unknown field {key!r}"
        for key in change
        if key not in ("balance", "state", "fault", "retry_after", "scenario")
    ]
    balance = account.balance
    if "balance" in change:
        try:  # null, true and false are not numbers to Decimal either
            balance = Decimal(str(change["balance"]))
        except InvalidOperation:
            problems.append("balance must be a number")
        else:
            if not balance.is_finite():
                problems.append("balance must be a number")
    if "state" in change and change["state"] not in STATES:
        problems.append(f"state must be one of {', '.join(STATES)}")
    if "fault" in change and change["fault"] is not None and change["fault"] not in say.FAULTS:
        problems.append(f"fault must be null or one of {', '.join(say.FAULTS)}")
    retry_after = account.retry_after
    if "retry_after" in change:
        seconds = change["retry_after"]
        if isinstance(seconds, int) and not isinstance(seconds, bool) and seconds >= 0:
            retry_after = str(seconds)
        elif isinstance(seconds, str) and seconds.isascii() and seconds.isdigit():
            retry_after = str(int(seconds))
        else:
            problems.append("retry_after must be a whole number of seconds, 0 or more")
    if change.get("scenario", None) is not None:
        problems.append("scenario can only be stopped (null)")
    if problems:
        return problems
    account.balance = balance
    account.state = change.get("state", account.state)
    account.fault = change.get("fault", account.fault)
    account.retry_after = retry_after
    if "scenario" in change:
        account.scenario = None
    return []


def _basic_auth(request: web.Request) -> tuple[str | None, str | None]:
    try:
        credentials = BasicAuth.decode(request.headers.get("Authorization", ""))
    except ValueError:
        return None, None
    return credentials.login, credentials.password


def _wants_xml(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/xml" in accept and "application/json" not in accept
