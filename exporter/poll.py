"""One poll of one account: send the provider's request, read the answer or classify the failure."""

from __future__ import annotations

import aiohttp

from exporter.errors import PollError, Reason
from exporter.providers.base import Provider
from exporter.ratelimit import requested_wait
from exporter.reading import Reading
from exporter.secret import redact
from exporter.upstream import fetch


async def poll(provider: Provider, session: aiohttp.ClientSession, now: float) -> Reading:
    """A Reading, or PollError with a reason, a one-line message and any wait the provider asked."""
    account = provider.account
    try:
        response = await fetch(session, provider.request(), account.timeout)
        if 200 <= response.status < 300:
            return provider.parse(response)
        failure = provider.error(response)
        failure.retry_after = requested_wait(response.headers, now)
        raise failure
    except PollError as failure:
        failure.message = redact(failure.message, account.secrets.values())
        raise
    except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
        # An answer shape no parser foresaw must cost this poll only, never the process.
        raise PollError(
            Reason.INVALID_RESPONSE, f"unreadable answer ({type(exc).__name__})"
        ) from None
