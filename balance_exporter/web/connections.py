"""What the exporter's own server allows its clients: how long a request's header and an idle
keep-alive may take, how many connections may be open, and what of a bad request is logged.

A client that connects and sends nothing (or a byte at a time) would hold a file descriptor
for as long as it likes; enough of them starve the polls of sockets ("Too many open files")
and make asyncio log every failed accept. So a header must arrive within the idle timeout,
connections past a cap below the process's file limit are closed at once, and the overload
is logged once per minute, not once per accept.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

log = logging.getLogger("balance_exporter.web")

IDLE_TIMEOUT = 10.0  # seconds for a request's header to arrive, and for a keep-alive to idle
MAX_CONNECTIONS = 512
# File descriptors kept for everything but clients: the polls' connection pool (aiohttp's
# connector holds at most 100), config and secret files, the log, the event loop itself.
RESERVED_FILES = 100 + 64
OVERLOAD_LOG_EVERY = 60.0  # seconds between two "refusing connections" lines


@dataclass(frozen=True, slots=True)
class ServerLimits:
    idle_timeout: float = IDLE_TIMEOUT
    max_connections: int = MAX_CONNECTIONS


def open_file_limit() -> int:
    """The process's file limit, raised first to the hard limit as Go programs do: the soft
    limit of 1,024 many systems start with is a default, not a choice."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != soft and (hard == resource.RLIM_INFINITY or hard > soft):
        wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):  # a container may forbid it: keep the soft limit
            pass
    return soft


def connection_cap(requested: int, file_limit: int) -> int:
    """``requested``, or fewer so that clients can never take the files the polls need."""
    return max(1, min(requested, file_limit - RESERVED_FILES))


class ConnectionGate:
    """Counts the server's open connections and turns away those past the cap."""

    def __init__(self, cap: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.cap = cap
        self.open = 0
        self.refused = 0  # since the last overload line
        self._clock = clock
        self._logged_at: float | None = None

    def factory(self, make: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        """A protocol factory for ``loop.create_server``: ``make()``'s, or a refusal."""

        def protocol() -> asyncio.Protocol:
            if self.open >= self.cap:
                self._overloaded()
                return _Refused()
            return _Counted(make(), self)

        return protocol

    def _overloaded(self) -> None:
        self.refused += 1
        now = self._clock()
        if self._logged_at is None or now - self._logged_at >= OVERLOAD_LOG_EVERY:
            log.warning(
                "too many connections: refusing new ones",
                extra={"open": self.open, "cap": self.cap, "refused": self.refused},
            )
            self._logged_at, self.refused = now, 0


class _Refused(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.abort()


class _Counted(asyncio.Protocol):
    """The server's own protocol, counted while its connection is open."""

    def __init__(self, inner: asyncio.Protocol, gate: ConnectionGate) -> None:
        self._inner = inner
        self._gate = gate

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._gate.open += 1
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._gate.open -= 1
        self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class GuardedSite(web.TCPSite):
    """A TCPSite whose connections pass the gate (aiohttp's own start, with that one change)."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str | None,
        port: int,
        gate: ConnectionGate,
        ssl_context: Any = None,
    ) -> None:
        super().__init__(runner, host, port, ssl_context=ssl_context)
        self._gate = gate

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            self._gate.factory(server),
            self._host,
            self._port,
            ssl=self._ssl_context,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
            reuse_port=self._reuse_port,
        )
        sockets = self._server.sockets
        self._bound_port = sockets[0].getsockname()[1] if sockets else self._port


class RequestErrorLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's server log with nothing of what the client sent: aiohttp quotes the first
    100 bytes of an over-long header (an Authorization header's password, say) in its
    exception, so only the kind of error is kept, on one line, without a traceback."""

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        error = kwargs.get("exc_info")
        kind = type(error).__name__ if isinstance(error, BaseException) else None
        if isinstance(error, HttpProcessingError):
            self.logger.log(
                min(level, logging.INFO),
                "bad request from a client",
                extra={"error": kind, "status": error.code},
            )
        elif level >= logging.WARNING:
            self.logger.log(level, "error handling a request", extra={"error": kind})

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        return msg, kwargs


REQUEST_ERRORS = RequestErrorLog(logging.getLogger("balance_exporter.web"))


def runner_options(limits: ServerLimits) -> dict[str, Any]:
    """Keyword arguments for web.AppRunner that apply these limits."""
    return {
        "keepalive_timeout": limits.idle_timeout,  # aiohttp arms it from the first byte on
        "logger": REQUEST_ERRORS,
        "access_log": None,  # it would quote the client's request line and User-Agent raw
    }


def quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> None:
    """When accept() fails for want of files, asyncio logs each try: log it once a minute."""
    last: list[float] = []

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message", ""))
        if not message.startswith("socket.accept() out of system resource"):
            loop.default_exception_handler(context)
            return
        now = time.monotonic()
        if not last or now - last[0] >= OVERLOAD_LOG_EVERY:
            last[:] = [now]
            error = context.get("exception")
            log.error(
                "cannot accept connections: out of files",
                extra={"error": type(error).__name__ if error else None},
            )

    loop.set_exception_handler(handler)
