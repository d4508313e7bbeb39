"""One aiohttp application answering as every simulated provider does, per its documentation.

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

from aiohttp import web

from balance_exporter.simulator.accounts import SimAccount
from balance_exporter.simulator.faults import FAULTS, fault
from balance_exporter.simulator.providers.base import SimProvider
from balance_exporter.simulator.providers.registry import SIMULATED


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
        provider = SIMULATED.get(account.provider)
        if provider is None:
            raise ValueError(f"unknown simulated provider {account.provider!r}")
        if account.variant not in provider.variants:
            if account.variant:
                known = ", ".join(provider.variants)
                raise ValueError(f"{account.provider} has no API {account.variant!r} ({known})")
            account.variant = provider.variants[0]  # the provider's default API
        self.accounts[name] = account
        return account

    def elapsed(self) -> float:
        if self.started is None:
            self.started = self.clock()
        return self.clock() - self.started

    def app(self) -> web.Application:
        app = web.Application()
        for provider in SIMULATED.values():
            for route in provider.routes:
                app.router.add_get(route.path, self._endpoint(provider, route.variant))
        app.router.add_get("/-/sim/accounts", self._list)
        app.router.add_post("/-/sim/accounts/{name}", self._change)
        app.router.add_post("/-/sim/release", self._release)
        self.elapsed()  # scenarios count from here
        return app

    # --- provider endpoints ---

    def _endpoint(self, provider: SimProvider, variant: str) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.StreamResponse:
            for name, account in self.accounts.items():
                if (
                    account.provider == provider.name
                    and account.variant == variant
                    and provider.authenticates(account, request, variant)
                ):
                    return await self._serve(name, provider, account, request)
            return provider.refused(401, variant)

        return handle

    async def _serve(
        self, name: str, provider: SimProvider, account: SimAccount, request: web.Request
    ) -> web.StreamResponse:
        self.requests[name] += 1
        if account.scenario is not None:
            account.scenario.apply(account, self.elapsed())
        wait = self._over_limit(name)
        if wait is not None:
            return provider.rate_limited(wait, account.variant)
        if account.fault is not None:
            return await fault(
                account.fault, provider, account, request, self.release.wait, self.wall_clock
            )
        return provider.balance(account, request)

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
    states = SIMULATED[account.provider].states
    if "state" in change and change["state"] not in states:
        problems.append(f"state must be one of {', '.join(states)}")
    if "fault" in change and change["fault"] is not None and change["fault"] not in FAULTS:
        problems.append(f"fault must be null or one of {', '.join(FAULTS)}")
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
