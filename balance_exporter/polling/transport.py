"""Sending a provider request: one session, User-Agent, timeout, body limit, failure reasons.

Proxies come from the environment as Python's urllib reads it: HTTPS_PROXY for https:// URLs,
HTTP_PROXY for http:// ones (the lower-case names win), NO_PROXY for the hosts that go direct;
credentials in a proxy's URL are sent to that proxy only. They are read when new_session makes
the session and again when refresh_proxies is called (on a reload), never per request: a poll
reads no file and hands no work to the thread pool. Nothing else comes from the environment:
provider credentials come from the configuration only, never from ~/.netrc or $NETRC (aiohttp's
trust_env, which this replaces, read those for every request and sent the provider what it
found).
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies_environment
from weakref import WeakKeyDictionary

import aiohttp
from multidict import CIMultiDictProxy

from balance_exporter import __version__
from balance_exporter.polling.errors import PollError, Reason, invalid

USER_AGENT = f"balance-exporter/{__version__}"
MAX_BODY = 1024 * 1024

log = logging.getLogger("balance_exporter.transport")


@dataclass(frozen=True)
class Request:
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Response:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        return decode_json(self.body)


def one_line(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _reject_constant(name: str) -> Any:
    raise invalid(f"response holds the non-number {name}")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are given once: a key given twice would let the last one win
    unseen, as a key given twice in YAML would."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise invalid(f"response gives the key {key[:40]!r} twice in one object")
        found[key] = value
    return found


def decode_json(body: bytes) -> Any:
    """Decode a JSON body keeping numbers exact (Decimal) and refusing NaN/Infinity."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid("response is not UTF-8 text") from None
    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_keys,
        )
    except json.JSONDecodeError as exc:
        raise invalid(f"response is not JSON ({exc.msg} at line {exc.lineno})") from None
    except ValueError:  # an integer longer than int() converts
        raise invalid("response is not JSON (a number too long)") from None
    except RecursionError:
        raise invalid("response JSON is nested too deeply") from None


@dataclass(frozen=True)
class Proxies:
    """The proxies the environment names, as read at one moment: the proxy URL (credentials
    and all) for http:// and for https:// URLs, and the NO_PROXY list."""

    http: str | None = None
    https: str | None = None
    no_proxy: str = ""

    @classmethod
    def from_environment(cls) -> Proxies:
        found = getproxies_environment()
        return cls(
            http=_usable(found.get("http"), "HTTP_PROXY"),
            https=_usable(found.get("https"), "HTTPS_PROXY"),
            no_proxy=found.get("no", ""),
        )

    def for_url(self, url: str) -> str | None:
        """The proxy a request for ``url`` goes through; None to go direct."""
        if self.http is None and self.https is None:
            return None
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:  # aiohttp refuses the URL itself, with the error a poll reports
            return None
        proxy = {"http": self.http, "https": self.https}.get(parts.scheme.lower())
        if proxy is None or not host:
            return None
        if self.no_proxy and _bypassed(host, self.no_proxy):
            return None
        return proxy


def _bypassed(host: str, no_proxy: str) -> bool:
    # urllib's NO_PROXY rules (a suffix match, "*" for all); typeshed leaves the function out.
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    return bool(bypass(host, {"no": no_proxy}))


def _usable(proxy: str | None, variable: str) -> str | None:
    """``proxy`` unless it is an https:// one: aiohttp's trust_env, which this replaces,
    ignored those with a warning, so they stay ignored. The URL is not logged: it may hold a
    password."""
    if proxy is None:
        return None
    try:
        scheme = urlsplit(proxy).scheme.lower()
    except ValueError:  # malformed: aiohttp refuses it at each poll, as it did before
        return proxy
    if scheme == "https":
        log.warning(
            "https:// proxies are not supported; requests go direct", extra={"variable": variable}
        )
        return None
    return proxy


# The proxies of each session new_session made. Kept beside the session, not on it: aiohttp
# discourages attributes of its own on a ClientSession. A session made elsewhere is not here,
# and is left to its own trust_env setting.
_SESSION_PROXIES: WeakKeyDictionary[aiohttp.ClientSession, Proxies] = WeakKeyDictionary()


def new_session() -> aiohttp.ClientSession:
    # trust_env=False: aiohttp would otherwise look up the proxies and ~/.netrc in a thread for
    # each request (0.8 ms of CPU a poll), and send the provider netrc credentials unasked.
    session = aiohttp.ClientSession(
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
        auto_decompress=True,
        raise_for_status=False,
    )
    # One poll sends one request: aiohttp would send a GET again, unasked, when the connection
    # closes before the answer, and a provider that drops connections would get two per poll.
    session._retry_connection = False
    _SESSION_PROXIES[session] = Proxies.from_environment()
    return session


def refresh_proxies(session: aiohttp.ClientSession) -> None:
    """Read HTTP(S)_PROXY and NO_PROXY again for a session new_session made (on a reload)."""
    if session in _SESSION_PROXIES:
        _SESSION_PROXIES[session] = Proxies.from_environment()


def session_proxies(session: aiohttp.ClientSession) -> Proxies | None:
    """The proxies ``session`` sends requests through; None for a session new_session did not
    make."""
    return _SESSION_PROXIES.get(session)


async def fetch(
    session: aiohttp.ClientSession, request: Request, seconds: float, max_body: int = MAX_BODY
) -> Response:
    """GET the request; a timeout, a network failure or an oversized body raises PollError."""
    try:
        async with asyncio.timeout(seconds):
            proxies = _SESSION_PROXIES.get(session)
            async with session.get(
                request.url,
                headers=dict(request.headers),
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=None),
                proxy=proxies.for_url(request.url) if proxies is not None else None,
            ) as response:
                body = await _read_limited(response, max_body)
                return Response(response.status, CIMultiDictProxy(response.headers.copy()), body)
    except TimeoutError:
        raise PollError(Reason.TIMEOUT, f"no complete answer within {seconds:g}s") from None
    except aiohttp.ClientPayloadError as exc:
        raise PollError(
            Reason.NETWORK, f"connection broke while reading the answer: {_short(exc)}"
        ) from None
    except aiohttp.ClientResponseError as exc:
        raise PollError(Reason.INVALID_RESPONSE, f"malformed HTTP answer: {_short(exc)}") from None
    except (aiohttp.ClientError, OSError) as exc:
        raise PollError(Reason.NETWORK, f"{type(exc).__name__}: {_short(exc)}") from None


async def _read_limited(response: aiohttp.ClientResponse, max_body: int) -> bytes:
    declared = response.content_length
    if declared is not None and declared > max_body:
        raise _too_large(max_body, response.status)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > max_body:
            raise _too_large(max_body, response.status)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(max_body: int, status: int) -> PollError:
    return PollError(
        Reason.INVALID_RESPONSE, f"answer body is larger than {max_body // 1024} KiB", status=status
    )


def _short(exc: BaseException) -> str:
    return one_line(str(exc)) or type(exc).__name__
