"""One poll of one account: send the provider's request, read the answer or classify the failure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from balance_exporter.config.secret import Redaction, Secret
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import PollError, Reason
from balance_exporter.polling.ratelimit import requested_wait
from balance_exporter.polling.transport import Request, fetch
from balance_exporter.providers.base import Provider


async def poll(
    provider: Provider[Any],
    session: aiohttp.ClientSession,
    now: float,
    redaction: AccountRedaction | None = None,
) -> Reading:
    """A Reading, or PollError with a reason, a one-line message and any wait the provider asked.

    ``redaction`` is the account's, built when its config was loaded; without it, one is built
    for this poll."""
    account = provider.account
    request: Request | None = None
    try:
        request = provider.request()
        response = await fetch(session, request, account.timeout)
        if 200 <= response.status < 300:
            reading = provider.parse(response)
            if reading.degraded_reason:  # provider text that goes to the logs
                blank = (redaction or AccountRedaction(provider)).of(request)
                reading = replace(reading, degraded_reason=blank.apply(reading.degraded_reason))
            return reading
        failure = provider.error(response)
        failure.retry_after = requested_wait(response.headers, now)
        raise failure
    except PollError as failure:  # providers may echo a key back: it never leaves this function
        blank = (redaction or AccountRedaction(provider)).of(request)
        failure.message = blank.apply(failure.message)
        failure.args = (failure.message,)
        if failure.code is not None:  # logged too: a provider may echo anything as its code
            failure.code = blank.apply(failure.code)
        raise
    except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
        # An answer shape no parser foresaw must cost this poll only, never the process.
        raise PollError(
            Reason.INVALID_RESPONSE, f"unreadable answer ({type(exc).__name__})"
        ) from None


class AccountRedaction:
    """What a poll blanks out of an account's errors: its secrets, and its credentials as sent.

    An echoed Authorization header shows them encoded (HTTP Basic is base64 of user:secret)
    and a key in a URL percent-encoded, which no secret's own text matches. Made once per
    account config, when the account first needs it (most never fail: 10,000 compiled
    patterns would cost memory for nothing); a request whose credentials differ from those
    foreseen (a signature that changes) gets a Redaction of its own."""

    def __init__(self, provider: Provider[Any]) -> None:
        self._provider = provider
        self._made: tuple[list[Secret], list[Secret], Redaction] | None = None

    @property
    def redaction(self) -> Redaction:
        return self._prepared()[2]

    def of(self, request: Request | None) -> Redaction:
        forms, foreseen, redaction = self._prepared()
        sent = [] if request is None else _sent_credentials(request)
        if sent == foreseen or not sent:
            return redaction
        return Redaction(forms + foreseen + sent)

    def _prepared(self) -> tuple[list[Secret], list[Secret], Redaction]:
        if self._made is None:
            forms = _secret_forms(self._provider.account.secrets.values())
            try:
                foreseen = _sent_credentials(self._provider.request())
            except Exception:
                foreseen = []
            self._made = (forms, foreseen, Redaction(forms + foreseen))
        return self._made


def _secret_forms(secrets: Iterable[Secret]) -> list[Secret]:
    forms = list(secrets)
    for secret in list(forms):
        value = secret.reveal()
        quoted = quote(value, safe="")
        # As aiohttp sends it in a query string: yarl decodes / ? : @ $ , again.
        sent = URL("/?k=" + quoted).raw_query_string[2:]
        forms += [Secret(form) for form in {quoted, sent} if form != value]
    return forms


def _sent_credentials(request: Request) -> list[Secret]:
    return [
        Secret(value.split(" ", 1)[-1])
        for name, value in request.headers.items()
        if name.lower() == "authorization"
    ]
