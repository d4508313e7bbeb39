"""Sending a provider request: one session, User-Agent, timeout, body limit, failure reasons."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from balance_exporter import __version__
from balance_exporter.polling.errors import PollError, Reason, invalid

USER_AGENT = f"balance-exporter/{__version__}"
MAX_BODY = 1024 * 1024


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


def new_session() -> aiohttp.ClientSession:
    # trust_env: HTTP(S)_PROXY and NO_PROXY from the environment are honoured.
    session = aiohttp.ClientSession(
        headers={"User-Agent": USER_AGENT},
        trust_env=True,
        auto_decompress=True,
        raise_for_status=False,
    )
    # One poll sends one request: aiohttp would send a GET again, unasked, when the connection
    # closes before the answer, and a provider that drops connections would get two per poll.
    session._retry_connection = False
    return session


async def fetch(
    session: aiohttp.ClientSession, request: Request, seconds: float, max_body: int = MAX_BODY
) -> Response:
    """GET the request; a timeout, a network failure or an oversized body raises PollError."""
    try:
        async with asyncio.timeout(seconds):
            async with session.get(
                request.url,
                headers=dict(request.headers),
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=None),
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
