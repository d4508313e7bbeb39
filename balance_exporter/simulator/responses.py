"""The providers' own answer shapes: balances, error bodies, and the faults a provider can show."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from typing import Any

from aiohttp import web

from balance_exporter.simulator.accounts import SimAccount

HTML_502 = (
    "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
)
HTML_429 = "<html><body><h1>429 Too Many Requests</h1></body></html>"

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


# --- balances ---------------------------------------------------------------------------------


def balance(account: SimAccount, sid: str) -> web.Response:
    """A trustworthy (or, for 23 Telecom, possibly degraded or setup) balance answer."""
    render = {
        "telnyx": _telnyx,
        "twilio": _twilio,
        "clickatell": _clickatell_rest,
        "clickatell-platform": _clickatell_platform,
        "youcom": _youcom,
        "23telecom": _telecom23,
    }[account.provider]
    return render(account, sid)


def _telnyx(account: SimAccount, sid: str) -> web.Response:
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
    account.served = account.balance
    return web.json_response({"data": body})


def _twilio(account: SimAccount, sid: str) -> web.Response:
    if account.state == "subaccount-404":
        return twilio_error(
            404,
            20404,
            f"The requested resource /2010-04-01/Accounts/{sid}/Balance.json was not found",
        )
    if account.state == "subaccount":
        return web.json_response({"account_sid": sid, "balance": None, "currency": None})
    account.served = account.balance
    return web.json_response(
        {"account_sid": sid, "balance": f"{account.balance:f}", "currency": account.currency}
    )


def _clickatell_rest(account: SimAccount, sid: str) -> web.Response:
    account.served = account.balance
    return web.json_response({"data": {"balance": f"{account.balance:.2f}"}})


def clickatell_rest_xml(account: SimAccount) -> web.Response:
    """The REST API's answer to ``Accept: application/xml``, as its documentation shows it."""
    account.served = account.balance
    return web.Response(
        text=(
            '<?xml version="1.0"?>\n<response>\n    <data>\n'
            f"        <balance>{account.balance:.2f}</balance>\n"
            "    </data>\n</response>\n"
        ),
        content_type="application/xml",
    )


def _clickatell_platform(account: SimAccount, sid: str) -> web.Response:
    account.served = account.balance
    return web.json_response({"balance": float(account.balance), "currency": account.currency})


def _youcom(account: SimAccount, sid: str) -> web.Response:
    account.served = account.balance
    cents = float(account.balance * 100)
    return web.json_response(
        {
            "data": {
                "type": "account",
                "id": account.entity_id or "ent_0000",
                "attributes": {"balance": cents},
            }
        }
    )


def _telecom23(account: SimAccount, sid: str) -> web.Response:
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
    if account.state == "degraded-header":  # only the headers tell: a zero balance, blocked
        return web.json_response(
            {
                "balance": 0,
                "currency": account.currency,
                "updated": account.updated,
                "credit_blocked": True,
            },
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
    account.served = account.balance
    return web.json_response(body)


# --- errors, in each provider's own shape ------------------------------------------------------


def telnyx_error(
    status: int, code: str, title: str, detail: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"errors": [{"code": code, "title": title, "detail": detail}]},
        status=status,
        headers=headers,
    )


def twilio_error(
    status: int, code: int, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status, headers=headers)


def clickatell_error(
    status: int, code: str | int, description: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "description": description, "documentation": ""}},
        status=status,
        headers=headers,
    )


def telecom23_error(
    status: int, code: str, description: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"status": False, "error_code": code, "description": description},
        status=status,
        headers=headers,
    )


def refused(provider: str, status: int) -> web.Response:
    """A wrong or missing credential (401), or one without the permission (403)."""
    forbidden = status == 403
    if provider == "telnyx":
        if forbidden:
            return telnyx_error(
                403,
                "10010",
                "Authorization failed",
                "Insufficient permissions to access balance information",
            )
        return telnyx_error(
            401, "10009", "Authentication failed", "Could not understand the provided credentials."
        )
    if provider == "twilio":
        return twilio_error(status, 20003, "Permission Denied" if forbidden else "Authenticate")
    if provider == "clickatell":
        return clickatell_error(
            status,
            "007" if forbidden else "001",
            "IP Lockdown violation" if forbidden else "Authentication failed",
        )
    if provider == "clickatell-platform":
        return clickatell_error(
            status, 7 if forbidden else 1, "Forbidden" if forbidden else "Authentication failed"
        )
    if provider == "23telecom":
        if forbidden:
            return telecom23_error(
                403, "PERMISSION_DENIED", "The key lacks the balance.read permission"
            )
        return telecom23_error(401, "INVALID_API_KEY", "Invalid API key")
    detail = (
        "Forbidden. API key lacks scope for this path."
        if forbidden
        else "Invalid or missing API key"
    )
    return web.json_response({"detail": detail}, status=status)


def rate_limited(
    provider: str,
    wait: int,
    *,
    as_date: bool = False,
    bare: bool = False,
    now: Callable[[], float] = time.time,
) -> web.Response:
    """Each provider's own way of saying "too many requests"; ``now`` is the wall clock."""
    headers: dict[str, str] = {}
    if not bare:
        headers["Retry-After"] = formatdate(now() + wait, usegmt=True) if as_date else str(wait)
    if provider == "telnyx":
        if not bare:
            headers["x-ratelimit-reset"] = str(wait)
        return telnyx_error(429, "10011", "Too many requests", "Rate limit exceeded", headers)
    if provider == "twilio":
        return twilio_error(429, 20429, "Too Many Requests", headers)
    if provider == "clickatell":
        return clickatell_error(429, "044", "Too many requests", headers)
    if provider == "clickatell-platform":
        return clickatell_error(400, 43, "Rate limit exceeded", headers)
    if provider == "23telecom":  # no body, or an HTML one, depending on the edge that answers
        if bare:
            return web.Response(status=429, headers=headers)
        return web.Response(status=429, text=HTML_429, content_type="text/html", headers=headers)
    return web.json_response({"detail": "Too many requests"}, status=429, headers=headers)


def server_error(provider: str, status: int, headers: dict[str, str] | None = None) -> web.Response:
    if provider == "telnyx":
        return telnyx_error(
            status, "10007", "Unexpected error", "An unexpected error occurred.", headers
        )
    if provider == "twilio":
        return twilio_error(status, 20500, "Internal Server Error", headers)
    if provider == "clickatell":
        return clickatell_error(status, "999", "Internal error", headers)
    if provider == "clickatell-platform":  # the platform's codes are numbers
        return clickatell_error(status, 999, "Internal error", headers)
    if provider == "23telecom":
        return telecom23_error(status, "INTERNAL_ERROR", "Internal error", headers)
    return web.json_response({"detail": "Internal Server Error"}, status=status, headers=headers)


# --- faults -----------------------------------------------------------------------------------

# The faults that answer a balance no client may take for a number.
_AMOUNTS = {"nan": "NaN", "infinity": "Infinity", "thousands": "1,000.00"}


async def fault(
    name: str,
    account: SimAccount,
    request: web.Request,
    hang: Callable[[], Awaitable[object]],
    now: Callable[[], float] = time.time,
) -> web.StreamResponse:
    """The answer ``name`` gives; ``now`` is the wall clock that HTTP dates are written from."""
    provider = account.provider
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
    if name == "500":
        return server_error(provider, 500)
    if name == "502-html":
        return web.Response(status=502, text=HTML_502, content_type="text/html")
    if name == "503-retry-after":
        return server_error(provider, 503, {"Retry-After": str(wait)})
    if name in ("429-seconds", "429-date", "429-bare"):
        return rate_limited(
            provider, wait, as_date=name == "429-date", bare=name == "429-bare", now=now
        )
    if name in ("401", "403"):
        return refused(provider, int(name))
    if name == "malformed-json":
        return web.Response(text='{"data": {"balance": ', content_type="application/json")
    if name == "wrong-shape":
        return web.json_response({"result": ["unexpected"]})
    if name in _AMOUNTS:
        return web.json_response(_with_amount(provider, _AMOUNTS[name]))
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


def _with_amount(provider: str, value: str) -> dict[str, Any]:
    if provider == "telnyx":
        return {"data": {"balance": value, "currency": "USD"}}
    if provider == "twilio":
        return {"balance": value, "currency": "USD", "account_sid": None}
    if provider == "clickatell":
        return {"data": {"balance": value}}
    if provider == "clickatell-platform":
        return {"balance": value, "currency": "ZAR"}
    if provider == "youcom":
        return {"data": {"type": "account", "id": "x", "attributes": {"balance": value}}}
    return {"balance": value, "currency": "EUR"}
