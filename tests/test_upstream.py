"""The upstream HTTP layer against real servers on 127.0.0.1: time and size limits, broken links."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from balance_exporter import __version__
from balance_exporter.config.account import AccountConfig
from balance_exporter.config.secret import Secret
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import PollError, Reason
from balance_exporter.polling.poll import poll
from balance_exporter.polling.transport import (
    MAX_BODY,
    USER_AGENT,
    Proxies,
    fetch,
    new_session,
    refresh_proxies,
    session_proxies,
)
from balance_exporter.providers.base import Request
from balance_exporter.providers.telnyx import Telnyx, TelnyxSettings
from balance_exporter.providers.youcom import YouCom, YouComSettings
from balance_exporter.simulator import SimAccount, Simulator

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TIMEOUT = 0.2  # seconds: short, and only ever reached by answers that hang or drip
PATIENT = 10.0  # seconds: never reached by an answer that completes
GUARD = 5.0  # seconds past the timeout after which a fetch that ignores it fails the test
NOW = 1_770_000_000.0  # the wall clock handed to poll


class Upstream:
    """A real aiohttp server on 127.0.0.1 whose routes a test sets; handlers that stall wait
    on ``release``, which is set before the server closes."""

    def __init__(self) -> None:
        self.app = web.Application()
        self.release = asyncio.Event()
        self.seen: list[web.Request] = []
        self.server: TestServer | None = None

    def route(self, path: str, handler: Handler) -> None:
        async def recording(request: web.Request) -> web.StreamResponse:
            self.seen.append(request)
            return await handler(request)

        self.app.router.add_get(path, recording)

    async def start(self) -> None:
        self.server = TestServer(self.app, host="127.0.0.1", port=0)
        await self.server.start_server()

    async def serve(self, handler: Handler, path: str = "/balance") -> str:
        """Route ``path`` to ``handler``, start the server and return the URL of ``path``."""
        self.route(path, handler)
        await self.start()
        return self.url(path)

    def url(self, path: str) -> str:
        assert self.server is not None
        return str(self.server.make_url(path))

    async def stall(self) -> None:
        await self.release.wait()


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    server = Upstream()
    yield server
    server.release.set()
    if server.server is not None:
        await server.server.close()


async def expect_failure(
    session: aiohttp.ClientSession, url: str, seconds: float = PATIENT
) -> PollError:
    with pytest.raises(PollError) as caught:
        async with asyncio.timeout(seconds + GUARD):
            await fetch(session, Request(url), seconds)
    return caught.value


async def youcom_on(upstream: Upstream, handler: Handler, account_timeout: float) -> YouCom:
    """You.com for an account whose base URL is the upstream server, answering with ``handler``."""
    await upstream.serve(handler, "/v1/billing/account_balance")
    account = AccountConfig(
        name="search",
        provider="youcom",
        interval=300.0,
        timeout=account_timeout,
        base_url=upstream.url("/"),
        settings=YouComSettings(api_key=Secret("ydc-canary-key-0000")),
    )
    return YouCom(account)


# --- answers that arrive ---------------------------------------------------------------------


async def test_complete_answer_is_returned_with_status_headers_and_body(
    upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=418, body=b'{"ok": 1}', headers={"Retry-After": "7"})

    url = await upstream.serve(handler)

    response = await fetch(session, Request(url), PATIENT)

    assert response.status == 418
    assert response.body == b'{"ok": 1}'
    assert response.headers["retry-after"] == "7"
    assert response.json() == {"ok": 1}


async def test_request_carries_user_agent_and_request_headers_on_the_wire(
    upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=b"{}")

    url = await upstream.serve(handler)

    await fetch(session, Request(url, {"X-API-Key": "k-123"}), PATIENT)

    (seen,) = upstream.seen
    assert seen.method == "GET"
    assert seen.headers["User-Agent"] == f"balance-exporter/{__version__}"
    assert seen.headers["User-Agent"] == USER_AGENT
    assert seen.headers["X-API-Key"] == "k-123"


async def test_redirect_is_not_followed(upstream: Upstream, session: aiohttp.ClientSession) -> None:
    async def moved(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/elsewhere"})

    async def elsewhere(request: web.Request) -> web.Response:
        return web.Response(body=b'{"balance": "1"}')

    upstream.route("/elsewhere", elsewhere)
    url = await upstream.serve(moved)

    response = await fetch(session, Request(url), PATIENT)

    assert response.status == 302
    assert response.headers["Location"] == "/elsewhere"
    assert [request.path for request in upstream.seen] == ["/balance"]


async def test_gzip_answer_is_decompressed(
    upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(
            body=gzip.compress(b'{"balance": "12.50"}'), headers={"Content-Encoding": "gzip"}
        )

    url = await upstream.serve(handler)

    response = await fetch(session, Request(url), PATIENT)

    assert response.json() == {"balance": "12.50"}


async def test_poll_through_a_real_server_reads_the_balance(upstream: Upstream) -> None:
    async def handler(request: web.Request) -> web.Response:
        body = {"data": {"type": "account", "id": "org-9", "attributes": {"balance": 718924.5}}}
        return web.json_response(body)

    provider = await youcom_on(upstream, handler, PATIENT)

    async with new_session() as session:
        reading = await poll(provider, session, NOW)

    assert reading == Reading(
        currency="USD", balance=Decimal("7189.245"), provider_account_id="org-9"
    )
    (seen,) = upstream.seen
    assert seen.headers["X-API-Key"] == "ydc-canary-key-0000"
    assert seen.headers["User-Agent"] == f"balance-exporter/{__version__}"


# --- body size limit -------------------------------------------------------------------------


async def test_body_of_exactly_the_limit_is_accepted(
    upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * MAX_BODY)

    url = await upstream.serve(handler)

    response = await fetch(session, Request(url), PATIENT)

    assert MAX_BODY == 1024 * 1024
    assert len(response.body) == MAX_BODY


async def test_declared_oversized_body_is_refused(
    upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * (MAX_BODY + 1))

    url = await upstream.serve(handler)

    failure = await expect_failure(session, url)

    assert failure.reason is Reason.INVALID_RESPONSE
    assert failure.message == "answer body is larger than 1024 KiB"
    assert failure.status == 200


async def test_chunked_oversized_body_is_refused(
    upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            for _ in range(40):  # 2.5 MiB, no Content-Length
                await response.write(b"y" * 65536)
            await response.write_eof()
        return response

    url = await upstream.serve(handler)

    failure = await expect_failure(session, url)

    assert failure.reason is Reason.INVALID_RESPONSE
    assert failure.message == "answer body is larger than 1024 KiB"


async def test_chunked_body_just_under_the_limit_is_accepted(
    upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(16):
            await response.write(b"z" * 65536)
        await response.write_eof()
        return response

    url = await upstream.serve(handler)

    response = await fetch(session, Request(url), PATIENT)

    assert len(response.body) == 16 * 65536 == MAX_BODY


async def test_small_gzip_that_inflates_past_the_limit_is_refused(
    upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    bomb = gzip.compress(b"0" * (4 * MAX_BODY))
    assert len(bomb) < MAX_BODY // 100

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip"})

    url = await upstream.serve(handler)

    failure = await expect_failure(session, url)

    assert failure.reason is Reason.INVALID_RESPONSE


# --- time limit ------------------------------------------------------------------------------


async def test_answer_that_never_comes_times_out(
    upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    async def handler(request: web.Request) -> web.Response:
        await upstream.stall()
        return web.Response(body=b"{}")

    url = await upstream.serve(handler)

    failure = await expect_failure(session, url, TIMEOUT)

    assert failure.reason is Reason.TIMEOUT
    assert failure.message == "no complete answer within 0.2s"
    assert failure.status is None


async def test_body_that_stalls_after_the_headers_times_out(
    upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = 100
        await response.prepare(request)
        await response.write(b'{"balance": ')
        await upstream.stall()
        return response

    url = await upstream.serve(handler)

    failure = await expect_failure(session, url, TIMEOUT)

    assert failure.reason is Reason.TIMEOUT


async def test_body_that_drips_past_the_timeout_times_out(
    upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    """Every byte comes well within the timeout; the whole answer does not: the limit is total."""
    drip_interval = TIMEOUT / 4

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            while not upstream.release.is_set():
                await response.write(b" ")
                # Pacing of the simulated slow upstream, not synchronisation with the test.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(upstream.release.wait(), drip_interval)
        return response

    url = await upstream.serve(handler)

    failure = await expect_failure(session, url, TIMEOUT)

    assert failure.reason is Reason.TIMEOUT


async def test_poll_uses_the_account_timeout(upstream: Upstream) -> None:
    async def handler(request: web.Request) -> web.Response:
        await upstream.stall()
        return web.Response(body=b"{}")

    provider = await youcom_on(upstream, handler, TIMEOUT)

    async with new_session() as session:
        with pytest.raises(PollError) as caught:
            await poll(provider, session, NOW)

    assert caught.value.reason is Reason.TIMEOUT
    assert caught.value.message == "no complete answer within 0.2s"


# --- broken connections ----------------------------------------------------------------------


async def test_connection_refused_is_a_network_failure(session: aiohttp.ClientSession) -> None:
    # A bound socket that does not listen: connecting to it is refused, and no one else
    # can take the port while we hold it.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]

        failure = await expect_failure(session, f"http://127.0.0.1:{port}/balance")

    assert failure.reason is Reason.NETWORK
    assert failure.message.startswith("ClientConnectorError: ")
    assert failure.status is None


async def test_connection_reset_mid_body_is_a_network_failure(
    upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = 1000
        await response.prepare(request)
        await response.write(b'{"data": {"balance": "1')
        assert request.transport is not None
        request.transport.abort()
        await upstream.stall()
        return response

    url = await upstream.serve(handler)

    failure = await expect_failure(session, url)

    assert failure.reason is Reason.NETWORK
    assert failure.message.startswith("connection broke while reading the answer: ")


async def test_connection_closed_before_any_answer_is_a_network_failure(
    upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    async def handler(request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.close()
        await upstream.stall()
        return web.Response()

    url = await upstream.serve(handler)

    failure = await expect_failure(session, url)

    assert failure.reason is Reason.NETWORK
    assert failure.message.startswith("ServerDisconnectedError")


async def test_answer_that_is_not_http_is_an_invalid_response(
    session: aiohttp.ClientSession,
) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"SURPRISE this is not HTTP\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        failure = await expect_failure(session, f"http://127.0.0.1:{port}/balance")
    finally:
        server.close()
        await server.wait_closed()

    assert failure.reason is Reason.INVALID_RESPONSE
    assert failure.message.startswith("malformed HTTP answer: ")


async def test_json_body_read_through_the_server_keeps_decimals(
    upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=b'{"a": 0.1000000000000000055}')

    url = await upstream.serve(handler)

    response = await fetch(session, Request(url), PATIENT)

    assert response.json() == {"a": Decimal("0.1000000000000000055")}


async def test_one_poll_sends_one_request_when_the_provider_drops_the_connection() -> None:
    # aiohttp sends a GET again by itself when the connection closes before the answer; the
    # provider would then count two requests per failed poll.
    simulator = Simulator()
    account = simulator.add("sms", SimAccount("telnyx", "drop-canary-key"))
    server = TestServer(simulator.app())
    await server.start_server()
    config = AccountConfig(
        name="sms",
        provider="telnyx",
        interval=300.0,
        timeout=5.0,
        base_url=str(server.make_url("/")),
        settings=TelnyxSettings(api_key=Secret("drop-canary-key")),
    )
    try:
        async with new_session() as session:
            await poll(Telnyx(config), session, 0.0)  # a kept-alive connection, then the fault
            account.fault = "drop"
            with pytest.raises(PollError) as caught:
                await poll(Telnyx(config), session, 0.0)
            assert caught.value.reason is Reason.NETWORK
            with pytest.raises(PollError):
                await poll(Telnyx(config), session, 0.0)
        assert simulator.requests == {"sms": 3}
    finally:
        await server.close()


# --- proxies and the environment ---------------------------------------------------------------

PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "all_proxy")
PROXIED_BODY = b'{"proxied": 1}'
PROVIDER = "http://provider.invalid/balance"  # never resolves: only a proxy can answer for it


class Proxy:
    """A forward proxy stand-in on 127.0.0.1: it keeps each request's head (request line, then
    headers) and answers a GET itself; a CONNECT it refuses with 403."""

    def __init__(self) -> None:
        self.heads: list[list[str]] = []
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"127.0.0.1:{port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:  # one connection, kept alive, may carry several requests
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")[:-2]
                self.heads.append(lines)
                if lines[0].startswith("CONNECT "):
                    writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                else:
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(PROXIED_BODY), PROXIED_BODY)
                    )
                await writer.drain()
        writer.close()

    def headers(self, index: int = 0) -> dict[str, str]:
        fields = (line.split(":", 1) for line in self.heads[index][1:])
        return {name.strip().lower(): value.strip() for name, value in fields}

    async def close(self) -> None:
        for writer in self.writers:
            writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@pytest.fixture
def no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The environment without any proxy variable, in either case, whatever the run's has."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


@pytest.fixture
async def proxy() -> AsyncIterator[Proxy]:
    server = Proxy()
    yield server
    await server.close()


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy"])
async def test_an_http_url_goes_through_the_proxy_the_environment_names(
    no_proxy_environment: pytest.MonkeyPatch, proxy: Proxy, variable: str
) -> None:
    no_proxy_environment.setenv(variable, f"http://{await proxy.start()}")

    async with new_session() as session:
        response = await fetch(session, Request(PROVIDER, {"X-API-Key": "k-123"}), PATIENT)

    assert response.body == PROXIED_BODY
    [head] = proxy.heads
    assert head[0] == f"GET {PROVIDER} HTTP/1.1"  # the absolute URI a proxy is sent
    assert proxy.headers()["host"] == "provider.invalid"
    assert proxy.headers()["x-api-key"] == "k-123"
    assert proxy.headers()["user-agent"] == USER_AGENT
    assert "proxy-authorization" not in proxy.headers()


async def test_an_https_url_goes_through_the_https_proxy_with_its_credentials(
    no_proxy_environment: pytest.MonkeyPatch, proxy: Proxy
) -> None:
    address = await proxy.start()
    no_proxy_environment.setenv("HTTPS_PROXY", f"http://egress:pr%40xy-pass@{address}")
    no_proxy_environment.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # not for https:// URLs

    async with new_session() as session:
        with pytest.raises(PollError):  # the stand-in refuses the tunnel
            await fetch(session, Request("https://provider.invalid/balance"), PATIENT)

    [head] = proxy.heads
    assert head[0] == "CONNECT provider.invalid:443 HTTP/1.1"
    credentials = base64.b64encode(b"egress:pr@xy-pass").decode()
    assert proxy.headers()["proxy-authorization"] == f"Basic {credentials}"


async def test_credentials_in_the_proxy_url_go_to_the_proxy_only(
    no_proxy_environment: pytest.MonkeyPatch, proxy: Proxy
) -> None:
    no_proxy_environment.setenv("HTTP_PROXY", f"http://egress:secret@{await proxy.start()}")

    async with new_session() as session:
        await fetch(session, Request(PROVIDER), PATIENT)

    credentials = base64.b64encode(b"egress:secret").decode()
    assert proxy.headers()["proxy-authorization"] == f"Basic {credentials}"
    assert "authorization" not in proxy.headers()


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost, 127.0.0.1", "*"])
async def test_no_proxy_sends_a_host_it_names_direct(
    no_proxy_environment: pytest.MonkeyPatch, proxy: Proxy, upstream: Upstream, no_proxy: str
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=b"{}")

    url = await upstream.serve(handler)
    no_proxy_environment.setenv("HTTP_PROXY", f"http://{await proxy.start()}")
    no_proxy_environment.setenv("NO_PROXY", no_proxy)

    async with new_session() as session:
        await fetch(session, Request(url), PATIENT)

    assert [request.path for request in upstream.seen] == ["/balance"]
    assert proxy.heads == []


async def test_no_proxy_leaves_a_host_it_does_not_name_to_the_proxy(
    no_proxy_environment: pytest.MonkeyPatch, proxy: Proxy
) -> None:
    no_proxy_environment.setenv("HTTP_PROXY", f"http://{await proxy.start()}")
    no_proxy_environment.setenv("NO_PROXY", "127.0.0.1,invalid.example,.provider")

    async with new_session() as session:
        await fetch(session, Request(PROVIDER), PATIENT)

    assert [head[0] for head in proxy.heads] == [f"GET {PROVIDER} HTTP/1.1"]


async def test_the_environment_is_read_when_the_session_is_made_and_on_refresh_only(
    no_proxy_environment: pytest.MonkeyPatch, proxy: Proxy, upstream: Upstream
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=b"{}")

    url = await upstream.serve(handler)
    address = await proxy.start()

    async with new_session() as session:
        no_proxy_environment.setenv("HTTP_PROXY", f"http://{address}")
        await fetch(session, Request(url), PATIENT)  # made without a proxy: direct
        assert (len(upstream.seen), proxy.heads) == (1, [])

        refresh_proxies(session)
        await fetch(session, Request(url), PATIENT)
        assert len(upstream.seen) == 1
        assert proxy.heads[0][0] == f"GET {url} HTTP/1.1"

        no_proxy_environment.delenv("HTTP_PROXY")
        await fetch(session, Request(url), PATIENT)  # still the proxy until the next refresh
        assert (len(upstream.seen), len(proxy.heads)) == (1, 2)

        refresh_proxies(session)
        await fetch(session, Request(url), PATIENT)
        assert (len(upstream.seen), len(proxy.heads)) == (2, 2)


async def test_refresh_leaves_a_session_made_elsewhere_alone(
    no_proxy_environment: pytest.MonkeyPatch,
) -> None:
    no_proxy_environment.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    async with aiohttp.ClientSession() as session:
        refresh_proxies(session)
        assert session_proxies(session) is None
    async with new_session() as session:
        assert session_proxies(session) == Proxies(http="http://127.0.0.1:9")


async def test_a_poll_never_reads_netrc(
    no_proxy_environment: pytest.MonkeyPatch, upstream: Upstream, tmp_path: Path
) -> None:
    """aiohttp's trust_env would send these credentials as Authorization to the provider."""

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=b"{}")

    url = await upstream.serve(handler)
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login netrc-user password netrc-canary\n")
    netrc.chmod(0o600)
    no_proxy_environment.setenv("NETRC", str(netrc))
    no_proxy_environment.setenv("HOME", str(tmp_path))

    async with new_session() as session:
        assert not session.trust_env
        await fetch(session, Request(url), PATIENT)

    (seen,) = upstream.seen
    assert "Authorization" not in seen.headers


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://api.example.com/x", "http://h:1"),
        ("HTTPS://API.EXAMPLE.COM/x", "http://s:2"),
        ("https://billing.internal/x", None),  # NO_PROXY suffix, leading dot ignored
        ("https://Billing.Internal:8443/x", None),
        ("http://internal/x", None),
        ("http://notinternal/x", "http://h:1"),
        ("ftp://api.example.com/x", None),
        ("http://[::1/x", None),  # aiohttp refuses the URL itself
    ],
)
def test_which_proxy_a_url_goes_through(url: str, expected: str | None) -> None:
    proxies = Proxies(http="http://h:1", https="http://s:2", no_proxy=" .internal ,localhost")
    assert proxies.for_url(url) == expected


def test_proxies_from_the_environment_follow_urllib(
    no_proxy_environment: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    no_proxy_environment.setenv("HTTP_PROXY", "http://upper:1")
    no_proxy_environment.setenv("http_proxy", "http://lower:1")  # lower case wins
    no_proxy_environment.setenv("HTTPS_PROXY", "https://user:pw@tls-proxy:443")
    no_proxy_environment.setenv("no_proxy", "example.org")
    with caplog.at_level(logging.WARNING, "balance_exporter.transport"):
        proxies = Proxies.from_environment()
    # aiohttp's trust_env ignored https:// proxies with a warning: still so.
    assert proxies == Proxies(http="http://lower:1", https=None, no_proxy="example.org")
    [record] = caplog.records
    assert "pw" not in record.getMessage()
    assert Proxies.from_environment().for_url("https://api.example.com/") is None
