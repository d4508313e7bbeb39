"""One poll of one account: send the provider's request, read the answer or classify the failure."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from balance_exporter.config.secret import Secret, redact
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import PollError, Reason
from balance_exporter.polling.ratelimit import requested_wait
from balance_exporter.polling.transport import Request, fetch
from balance_exporter.providers.base import Provider


async def poll(provider: Provider[Any], session: aiohttp.ClientSession, now: float) -> Reading:
    """A Reading, or PollError with a reason, a one-line message and any wait the provider asked."""
    account = provider.account
    request: Request | None = None
    try:
        request = provider.request()
        response = await fetch(session, request, account.timeout)
        if 200 <= response.status < 300:
            reading = provider.parse(response)
            if reading.degraded_reason:  # provider text that goes to the logs
                reading = replace(
                    reading,
                    degraded_reason=redact(reading.degraded_reason, hidden(provider, request)),
                )
            return reading
        failure = provider.error(response)
        failure.retry_after = requested_wait(response.headers, now)
        raise failure
    except PollError as failure:  # providers may echo a key back: it never leaves this function
        secrets = hidden(provider, request)
        failure.message = redact(failure.message, secrets)
        failure.args = (failure.message,)
        if failure.code is not None:  # logged too: a provider may echo anything as its code
            failure.code = redact(failure.code, secrets)
        raise
    except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
        # An answer shape no parser foresaw must cost this poll only, never the process.
        raise PollError(
            Reason.INVALID_RESPONSE, f"unreadable answer ({type(exc).__name__})"
        ) from None


def hidden(provider: Provider[Any], request: Request | None) -> list[Secret]:
    """The account's secrets and its credentials as sent: an echoed Authorization header shows
    them encoded (HTTP Basic is base64 of user:secret), and a key in a URL percent-encoded,
    which no secret's own text matches."""
    secrets = list(provider.account.secrets.values())
    for secret in provider.account.secrets.values():
        value = secret.reveal()
        quoted = quote(value, safe="")
        # As aiohttp sends it in a query string: yarl decodes / ? : @ $ , again.
        sent = URL("/?k=" + quoted).raw_query_string[2:]
        secrets += [Secret(form) for form in {quoted, sent} if form != value]
    if request is not None:
        secrets += [
            Secret(value.split(" ", 1)[-1])
            for name, value in request.headers.items()
            if name.lower() == "authorization"
        ]
    return secrets
