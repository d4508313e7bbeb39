"""The faults any provider can show, answered in the faulty account's provider's own shapes."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from email.utils import formatdate

from aiohttp import web

from balance_exporter.simulator.accounts import SimAccount
from balance_exporter.simulator.providers.base import SimProvider

HTML_502 = (
    "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
)

FAULTS = (
    "hang",
    "reset",
    "drop",
    "500",
    "502-html",
    "503-retry-after",
    "429-seconds",
    "429-date",
    "429-bare",
    "429-reset-ms",
    "401",
    "403",
    "malformed-json",
    "wrong-shape",
    "nan",
    "infinity",
    "thousands",
    "huge-body",
    "drip",
)

# The faults that answer a balance no client may take for a number.
AMOUNTS = {"nan": "NaN", "infinity": "Infinity", "thousands": "1,000.00"}


async def fault(
    name: str,
    provider: SimProvider,
    account: SimAccount,
    request: web.Request,
    hang: Callable[[], Awaitable[object]],
    now: Callable[[], float] = time.time,
) -> web.StreamResponse:
    """The answer ``name`` gives; ``now`` is the wall clock that HTTP dates are written from."""
    variant = account.variant
    wait = int(account.retry_after)
    if name == "hang":
        await hang()
        return web.Response(status=504, text="released")
    if name == "reset":
        response = web.StreamResponse(
            headers={"Content-Type": "application/json", "Content-Length": "500"}
        )
        await response.prepare(request)
        await response.write(b'{"data": {"bal')
        assert request.transport is not None
        request.transport.abort()
        return response
    if name == "drop":  # the connection closes on the request, before any answer
        assert request.transport is not None
        request.transport.abort()
        return web.Response(status=500)  # never sent: the connection is gone
    if name == "500":
        return provider.server_error(500, variant)
    if name == "502-html":
        return web.Response(status=502, text=HTML_502, content_type="text/html")
    if name == "503-retry-after":
        answer = provider.server_error(503, variant)
        answer.headers["Retry-After"] = str(wait)
        return answer
    if name == "429-seconds":  # the provider's own rate-limit answer, its wait headers included
        return provider.rate_limited(wait, variant)
    if name == "429-date":  # its own answer, with the wait as an HTTP date in Retry-After
        answer = provider.rate_limited(wait, variant)
        answer.headers["Retry-After"] = formatdate(now() + wait, usegmt=True)
        return answer
    if name == "429-reset-ms":  # the reset as an epoch in milliseconds, as some providers send
        answer = provider.rate_limited(wait, variant, announce=False)
        answer.headers["X-RateLimit-Reset"] = str(math.ceil((now() + wait) * 1000))
        return answer
    if name == "429-bare":
        return provider.rate_limited(wait, variant, announce=False)
    if name in ("401", "403"):
        return provider.refused(int(name), variant)
    if name == "malformed-json":
        return web.Response(text='{"data": {"balance": ', content_type="application/json")
    if name == "wrong-shape":
        return web.json_response({"result": ["unexpected"]})
    if name in AMOUNTS:
        return web.json_response(provider.with_amount(AMOUNTS[name], variant))
    if name == "huge-body":
        return web.Response(body=b" " * (1024 * 1024 + 10) + b"{}", content_type="application/json")
    if name == "drip":
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        for _ in range(600):  # one byte a tenth of a second: a minute for a body of nothing
            await response.write(b" ")
            await asyncio.sleep(0.1)
        return response
    raise ValueError(f"unknown fault {name!r}")
