"""The providers' own answer shapes: balances, error bodies, and the faults a provider can show."""

from __future__ import annotations

import asyncio
from email.utils import formatdate
from time import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from exporter.simulator.app import SimAccount

HTML_502 = (
    "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
)
FAULTS = (
    "hang",
    "reset",
    "500",
    "502-html",
    "503-retry-after",
    "429-seconds",
    "429-date",
    "429-bare",
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


def telnyx_balance(account: SimAccount) -> dict[str, Any]:
    limit = account.credit_limit or 0
    body: dict[str, Any] = {
        "record_type": "balance",
        "balance": f"{account.balance:.2f}",
        "credit_limit": f"{limit:.2f}",
        "available_credit": f"{account.balance + limit:.2f}",
        "currency": account.currency,
    }
    if account.pending is not None:
        body["pending"] = f"{account.pending:.2f}"
    return body


def telnyx_error(status: int, code: str, title: str, detail: str, **headers: str) -> web.Response:
    return web.json_response(
        {"errors": [{"code": code, "title": title, "detail": detail}]},
        status=status,
        headers=headers,
    )


def twilio_error(status: int, code: int, message: str) -> web.Response:
    return web.json_response(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status=status,
    )


def clickatell_error(status: int, code: str | int, description: str) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "description": description, "documentation": ""}}, status=status
    )


def telecom23_balance(account: SimAccount) -> web.Response:
    if account.state == "setup":
        return web.json_response({"status": False, "error": "Account is in setup process"})
    if account.state == "degraded":
        return web.json_response(
            {
                "balance": 0,
                "currency": account.currency,
                "unavailable": True,
                "reason": "cache_disabled",
            },
            headers={
                "X-Sms-Gateway-Status": "unavailable",
                "X-Sms-Gateway-Reason": "cache_disabled",
            },
        )
    if account.state == "degraded-header":
        return web.json_response(
            {"balance": 0, "currency": account.currency, "updated": account.updated},
            headers={
                "X-Sms-Gateway-Status": "partial",
                "X-Sms-Gateway-Reason": "cache_miss_refresh_failed",
            },
        )
    body: dict[str, Any] = {
        "balance": float(account.balance),
        "currency": account.currency,
        "updated": account.updated,
    }
    if account.credit_blocked:
        body["credit_blocked"] = True
    return web.json_response(body)


def rate_limited(provider: str, headers: dict[str, str]) -> web.Response:
    """Each provider's own way of saying "too many requests"."""
    if provider == "telnyx":
        return telnyx_error(429, "10011", "Too many requests", "Rate limit exceeded", **headers)
    if provider == "twilio":
        return web.json_response(
            {"code": 20429, "message": "Too Many Requests", "more_info": "", "status": 429},
            status=429,
            headers=headers,
        )
    if provider == "clickatell-platform":
        return web.json_response(
            {"error": {"code": 43, "description": "Rate limit exceeded"}},
            status=400,
            headers=headers,
        )
    if provider == "23telecom":
        return web.Response(status=429, headers=headers)  # this one sends no body at all
    return web.json_response({"detail": "Too many requests"}, status=429, headers=headers)


async def fault(
    name: str, provider: str, request: web.Request, retry_after: str
) -> web.StreamResponse:
    if name == "hang":
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
    if name == "500":
        return web.json_response({"detail": "Internal Server Error"}, status=500)
    if name == "502-html":
        return web.Response(status=502, text=HTML_502, content_type="text/html")
    if name == "503-retry-after":
        return web.json_response(
            {"detail": "unavailable"}, status=503, headers={"Retry-After": retry_after}
        )
    if name == "429-seconds":
        return rate_limited(provider, {"Retry-After": retry_after})
    if name == "429-date":
        return rate_limited(
            provider, {"Retry-After": formatdate(time() + float(retry_after), usegmt=True)}
        )
    if name == "429-bare":
        return rate_limited(provider, {})
    if name in ("401", "403"):
        return web.json_response({"detail": "Forbidden"}, status=int(name))
    if name == "malformed-json":
        return web.Response(text='{"data": {"balance": ', content_type="application/json")
    if name == "wrong-shape":
        return web.json_response({"result": ["unexpected"]})
    if name in ("nan", "infinity", "thousands"):
        value = {"nan": "NaN", "infinity": "Infinity", "thousands": "1,000.00"}[name]
        return web.json_response(_with_amount(provider, value))
    if name == "huge-body":
        return web.Response(body=b" " * (1024 * 1024 + 10) + b"{}", content_type="application/json")
    if name == "drip":
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        for _ in range(600):
            await response.write(b" ")
            await asyncio.sleep(0.1)
        return response
    raise ValueError(f"unknown fault {name!r}")


def _with_amount(provider: str, value: str) -> dict[str, Any]:
    if provider == "telnyx":
        return {"data": {"balance": value, "currency": "USD"}}
    if provider == "twilio":
        return {"balance": value, "currency": "USD", "account_sid": None}
    if provider == "clickatell":
        return {"data": {"balance": value}}
    if provider == "youcom":
        return {"data": {"type": "account", "id": "x", "attributes": {"balance": value}}}
    return {"balance": value, "currency": "EUR"}
