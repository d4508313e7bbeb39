"""Sending a provider request: one session, User-Agent, timeout, body limit, failure reasons."""

from __future__ import annotations

import asyncio

import aiohttp
from multidict import CIMultiDictProxy

from exporter import __version__
from exporter.errors import PollError, Reason
from exporter.providers.base import Request, Response, one_line

USER_AGENT = f"balance-exporter/{__version__}"
MAX_BODY = 1024 * 1024


def new_session() -> aiohttp.ClientSession:
    # trust_env: HTTP(S)_PROXY and NO_PROXY from the environment are honoured.
    return aiohttp.ClientSession(
        headers={"User-Agent": USER_AGENT},
        trust_env=True,
        auto_decompress=True,
        raise_for_status=False,
    )


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
