"""The exporter's server against slow, idle, numerous and malformed clients."""

from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from fakeclock import REAL_DEADLINE, wait_until
from support import no_reload

from balance_exporter.metrics.snapshot import SnapshotStore
from balance_exporter.web import connections
from balance_exporter.web.connections import (
    RESERVED_FILES,
    ConnectionGate,
    ServerLimits,
    connection_cap,
    open_file_limit,
    quiet_accept_errors,
    runner_options,
)
from balance_exporter.web.listener import Address, Listener
from balance_exporter.web.server import build_app

CANARY = "canary-header-pw-Zq81x"


class Served:
    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.gate = listener.gate
        (self.port,) = listener.ports

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)

    async def get(self, path: str = "/-/healthy", extra: str = "") -> bytes:
        reader, writer = await self.connect()
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n".encode())
        try:
            async with asyncio.timeout(REAL_DEADLINE):
                return await reader.read()
        finally:
            writer.close()


@asynccontextmanager
async def served(limits: ServerLimits) -> AsyncIterator[Served]:
    from aiohttp import web

    app = build_app(SnapshotStore(), no_reload)
    runner = web.AppRunner(app, **runner_options(limits))
    await runner.setup()
    address = Address("127.0.0.1:0", "127.0.0.1", 0)
    listener = Listener(runner, [address], ConnectionGate(limits.max_connections))
    await listener.start(None)
    try:
        yield Served(listener)
    finally:
        await runner.cleanup()


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    """Whether the server closes the connection before the deadline (reading what it sends)."""
    try:
        async with asyncio.timeout(REAL_DEADLINE):
            while await reader.read(4096):
                pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


async def test_a_client_that_sends_nothing_is_closed_after_the_idle_timeout() -> None:
    async with served(ServerLimits(idle_timeout=0.3)) as server:
        reader, writer = await server.connect()
        await wait_until(lambda: server.gate.open == 1)

        assert await closed_by_server(reader)
        await wait_until(lambda: server.gate.open == 0)
        assert b"200 OK" in await server.get()  # others are served as ever
        writer.close()


async def test_a_header_sent_a_byte_at_a_time_is_cut_off() -> None:
    async with served(ServerLimits(idle_timeout=0.3)) as server:
        reader, writer = await server.connect()
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")

        async def trickle() -> None:
            for _ in range(10 * int(REAL_DEADLINE)):
                writer.write(b"a")
                await asyncio.sleep(0.05)  # the client's pace, not a synchronisation

        dripping = asyncio.create_task(trickle())
        try:
            assert await closed_by_server(reader)
        finally:
            dripping.cancel()
            writer.close()


async def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() -> None:
    async with served(ServerLimits(idle_timeout=0.3)) as server:
        reader, writer = await server.connect()
        writer.write(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
        async with asyncio.timeout(REAL_DEADLINE):
            assert b"200 OK" in await reader.readuntil(b"Healthy\n")
        assert await closed_by_server(reader)
        writer.close()


async def test_connections_past_the_cap_are_turned_away_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "balance_exporter.web")
    async with served(ServerLimits(idle_timeout=60.0, max_connections=3)) as server:
        held = [await server.connect() for _ in range(3)]
        await wait_until(lambda: server.gate.open == 3)

        refused = [await server.connect() for _ in range(10)]
        for reader, _ in refused:
            assert await closed_by_server(reader)
        assert server.gate.open == 3

        held[0][1].close()
        await wait_until(lambda: server.gate.open == 2)
        assert b"200 OK" in await server.get()  # a place freed is a place served
        for _, writer in held[1:] + refused:
            writer.close()

    overload = [
        r for r in caplog.records if r.getMessage() == "too many connections: refusing new ones"
    ]
    assert len(overload) == 1  # once per minute, not once per connection
    assert overload[0].__dict__["cap"] == 3


async def test_an_over_long_header_is_refused_and_nothing_of_it_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with served(ServerLimits()) as server:
        answer = await server.get(extra=f"Authorization: Basic {CANARY * 1_000}\r\n")
        long_path = await server.get(path="/metrics?" + CANARY * 1_000)

    assert answer.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request")
    assert long_path.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request")
    logged = [(r.getMessage(), r.__dict__, r.exc_text or "", r.exc_info) for r in caplog.records]
    assert logged  # the refusals are logged ...
    assert all(CANARY[:8] not in repr(entry) for entry in logged)  # ... but not what was sent
    assert all(exc_info is None for *_, exc_info in logged)
    kinds = {r.__dict__.get("error") for r in caplog.records if r.name == "balance_exporter.web"}
    assert "LineTooLong" in kinds


def test_accept_errors_for_want_of_files_are_logged_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.new_event_loop()
    try:
        quiet_accept_errors(loop)
        for _ in range(1_000):
            loop.call_exception_handler(
                {
                    "message": "socket.accept() out of system resource",
                    "exception": OSError(24, "Too many open files"),
                }
            )
        loop.call_exception_handler({"message": "something else"})
    finally:
        loop.close()

    lines = [r.getMessage() for r in caplog.records]
    assert lines.count("cannot accept connections: out of files") == 1
    assert "something else" in lines  # other loop errors still reach asyncio's own handler


def test_the_cap_keeps_files_for_the_polls() -> None:
    assert connection_cap(512, 1_024) == 512
    assert connection_cap(5_000, 1_024) == 1_024 - RESERVED_FILES
    assert connection_cap(512, 100) == 1  # a tiny limit still serves someone


def test_the_soft_file_limit_is_raised_to_the_hard_one(monkeypatch: pytest.MonkeyPatch) -> None:
    limits = {"now": (1_024, 65_536)}

    def getrlimit(which: int) -> tuple[int, int]:
        return limits["now"]

    def setrlimit(which: int, value: tuple[int, int]) -> None:
        limits["now"] = value

    monkeypatch.setattr(resource, "getrlimit", getrlimit)
    monkeypatch.setattr(resource, "setrlimit", setrlimit)
    assert open_file_limit() == 65_536
    assert limits["now"] == (65_536, 65_536)


def test_a_refused_raise_keeps_the_soft_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(which: int, value: tuple[int, int]) -> None:
        raise ValueError("not allowed")

    monkeypatch.setattr(resource, "getrlimit", lambda which: (1_024, 4_096))
    monkeypatch.setattr(resource, "setrlimit", refuse)
    assert open_file_limit() == 1_024


def test_limits_default_to_seconds_and_a_cap() -> None:
    assert ServerLimits() == ServerLimits(connections.IDLE_TIMEOUT, connections.MAX_CONNECTIONS)
    assert 0 < connections.IDLE_TIMEOUT <= 30
