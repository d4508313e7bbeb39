"""TLS from the web config, against real clients: scrapes, refusals, client certificates, reloads.

Certificates are made by trustme when the tests run. The exporter serves in the test's event
loop (Daemon, Listener and its app, as the command line wires them) except for the SIGHUP
test, which runs ``python -m balance_exporter --demo`` as a real process. Clients are Python's own
blocking TLS sockets in a worker thread (so a refused handshake is seen as the client sees
it) and aiohttp.

A refused handshake is seen by the client as the connection ending without an HTTP answer:
the server (asyncio) closes it without a TLS alert, during the handshake under TLS 1.2 and
right after it under TLS 1.3, where the client's certificate is checked after the client
considers the handshake done.
"""

from __future__ import annotations

import asyncio
import datetime
import signal
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import trustme
from aiohttp import web
from prometheus_harness import PORT_ATTEMPTS, ExporterProcess, free_port, wait_until
from support import metric_value

from balance_exporter.config.checker import Config
from balance_exporter.config.webconfig import load_web_config
from balance_exporter.daemon import Daemon
from balance_exporter.web.listener import Address, Listener

IO_DEADLINE = 5.0  # seconds for one client exchange
PROCESS_DEADLINE = 30.0
OK = 200
NO_ANSWER = None  # the connection ended without an HTTP answer
RELOAD_METRIC = "billing_exporter_config_last_reload_successful"
TLS12, TLS13 = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3


@dataclass(frozen=True)
class Pki:
    server_ca: trustme.CA
    client_ca: trustme.CA  # the CA the exporter trusts for client certificates
    other_ca: trustme.CA
    trusted_client: trustme.LeafCert
    stranger: trustme.LeafCert  # a client certificate from a CA the exporter does not trust
    expired: trustme.LeafCert  # from the trusted CA, but out of date


@pytest.fixture(scope="module")
def pki() -> Pki:
    client_ca, other_ca = trustme.CA(), trustme.CA()
    return Pki(
        trustme.CA(),
        client_ca,
        other_ca,
        client_ca.issue_cert("scraper@example.org"),
        other_ca.issue_cert("scraper@example.org"),
        client_ca.issue_cert(
            "scraper@example.org",
            not_before=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC),
            not_after=datetime.datetime(2021, 1, 1, tzinfo=datetime.UTC),
        ),
    )


def install_certificate(folder: Path, ca: trustme.CA) -> trustme.LeafCert:
    """A server certificate from ``ca`` as folder/cert.pem and folder/key.pem."""
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    leaf.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    leaf.private_key_pem.write_to_path(str(folder / "key.pem"))
    return leaf


def der(leaf: trustme.LeafCert) -> bytes:
    return ssl.PEM_cert_to_DER_cert(leaf.cert_chain_pems[0].bytes().decode())


def write_web_config(folder: Path, *settings: str) -> Path:
    """A web config serving folder/cert.pem with extra tls_server_config lines."""
    lines = ["tls_server_config:", "  cert_file: cert.pem", "  key_file: key.pem"]
    lines += [f"  {setting}" for setting in settings]
    path = folder / "web.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def client_context(
    trust: trustme.CA,
    certificate: trustme.LeafCert | None = None,
    *,
    min_version: ssl.TLSVersion | None = None,
    max_version: ssl.TLSVersion | None = None,
) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    trust.configure_trust(context)
    if certificate is not None:
        certificate.configure_cert(context)
    if min_version is not None:
        context.minimum_version = min_version
    if max_version is not None:
        context.maximum_version = max_version
    return context


@dataclass(frozen=True)
class Exchange:
    answer: int | None  # the HTTP status, or NO_ANSWER
    version: str | None = None  # the TLS version negotiated
    peer: bytes | None = None  # the server's certificate (DER)
    body: str = ""
    error: str = ""


def _exchange(port: int, context: ssl.SSLContext, request: bytes) -> Exchange:
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=IO_DEADLINE) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            version, peer = tls.version(), tls.getpeercert(binary_form=True)
            tls.sendall(request)
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    except (ssl.SSLError, ConnectionError) as exc:
        return Exchange(NO_ANSWER, error=f"{type(exc).__name__}: {exc}")
    if not data:
        return Exchange(NO_ANSWER, version, peer, error="closed without an answer")
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b"\r\n")[0].split()[1])
    return Exchange(status, version, peer, body.decode())


async def exchange(
    port: int, context: ssl.SSLContext, path: str = "/-/healthy", method: str = "GET"
) -> Exchange:
    """One HTTP/1.0 request on a new TLS connection (a blocking client, in a thread)."""
    request = f"{method} {path} HTTP/1.0\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"
    return await asyncio.to_thread(_exchange, port, context, request.encode())


@dataclass
class Served:
    daemon: Daemon
    port: int


@asynccontextmanager
async def serving(web_config_path: Path) -> AsyncIterator[Served]:
    """The daemon's app on 127.0.0.1 with the web config's TLS, as the command line serves."""
    config = Config()
    daemon = Daemon(
        lambda: config,
        config,
        web_config_path=web_config_path,
        web_config=load_web_config(web_config_path),
    )
    runner = web.AppRunner(daemon.app(lifecycle=True), handle_signals=False)
    await runner.setup()
    try:
        for _ in range(PORT_ATTEMPTS):  # a free port can be taken before we bind it
            port = free_port()
            listener = Listener(runner, [Address(f"127.0.0.1:{port}", "127.0.0.1", port)])
            try:
                await listener.start(daemon.web.config.ssl_context())
                break
            except OSError:
                continue
        else:
            raise AssertionError("no free port to listen on")
        daemon.listener = listener
        await daemon.start()
        yield Served(daemon, listener.ports[0])
    finally:
        await daemon.stop()
        await runner.cleanup()


# --- serving over TLS ------------------------------------------------------------------------


async def test_a_tls_scrape_works(tmp_path: Path, pki: Pki) -> None:
    leaf = install_certificate(tmp_path, pki.server_ca)
    async with serving(write_web_config(tmp_path)) as served:
        connector = aiohttp.TCPConnector(ssl=client_context(pki.server_ca))
        async with (
            aiohttp.ClientSession(connector=connector) as client,
            client.get(f"https://localhost:{served.port}/metrics") as response,
        ):
            assert response.status == 200
            text = await response.text()
        assert metric_value(text, RELOAD_METRIC) == 1.0
        seen = await exchange(served.port, client_context(pki.server_ca), "/metrics")
        assert (seen.answer, seen.version, seen.peer) == (OK, "TLSv1.3", der(leaf))


async def test_a_client_that_does_not_trust_the_ca_is_refused_by_its_own_check(
    tmp_path: Path, pki: Pki
) -> None:
    install_certificate(tmp_path, pki.server_ca)
    async with serving(write_web_config(tmp_path)) as served:
        seen = await exchange(served.port, client_context(pki.other_ca))
    assert seen.answer == NO_ANSWER
    assert "CERTIFICATE_VERIFY_FAILED" in seen.error


async def test_plain_http_to_the_tls_port_gets_no_http_answer(tmp_path: Path, pki: Pki) -> None:
    install_certificate(tmp_path, pki.server_ca)
    async with serving(write_web_config(tmp_path)) as served:
        async with aiohttp.ClientSession() as client:
            with pytest.raises(aiohttp.ClientConnectionError):
                async with client.get(f"http://127.0.0.1:{served.port}/metrics") as response:
                    pytest.fail(f"plain HTTP was answered: {response.status}")
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        try:
            writer.write(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
            received = await asyncio.wait_for(reader.read(), IO_DEADLINE)
        finally:
            writer.close()
        assert not received.startswith(b"HTTP/")
        # The same port answers over TLS: what failed above was the plain HTTP.
        assert (await exchange(served.port, client_context(pki.server_ca))).answer == OK


async def test_min_version_tls13_refuses_a_tls12_only_client(tmp_path: Path, pki: Pki) -> None:
    install_certificate(tmp_path, pki.server_ca)
    tls12_only = client_context(pki.server_ca, max_version=TLS12)
    async with serving(write_web_config(tmp_path)) as served:  # the default: TLS12 and up
        default = await exchange(served.port, tls12_only)
    async with serving(write_web_config(tmp_path, "min_version: TLS13")) as served:
        refused = await exchange(served.port, tls12_only)
        accepted = await exchange(served.port, client_context(pki.server_ca))
    assert (default.answer, default.version) == (OK, "TLSv1.2")
    assert refused.answer == NO_ANSWER
    assert (accepted.answer, accepted.version) == (OK, "TLSv1.3")


async def test_max_version_tls12_is_honoured(tmp_path: Path, pki: Pki) -> None:
    install_certificate(tmp_path, pki.server_ca)
    async with serving(write_web_config(tmp_path, "max_version: TLS12")) as served:
        either = await exchange(served.port, client_context(pki.server_ca))
        tls13_only = await exchange(served.port, client_context(pki.server_ca, min_version=TLS13))
    assert (either.answer, either.version) == (OK, "TLSv1.2")
    assert tls13_only.answer == NO_ANSWER


# --- client certificates ---------------------------------------------------------------------

CLIENTS = ("no certificate", "trusted CA", "other CA", "expired")
EXPECTED: dict[str, dict[str, int | None]] = {
    "NoClientCert": {"no certificate": OK, "trusted CA": OK, "other CA": OK, "expired": OK},
    # Asked for, not needed, never verified.
    "RequestClientCert": {"no certificate": OK, "trusted CA": OK, "other CA": OK, "expired": OK},
    # Needed, never verified.
    "RequireAnyClientCert": {
        "no certificate": NO_ANSWER,
        "trusted CA": OK,
        "other CA": OK,
        "expired": OK,
    },
    "VerifyClientCertIfGiven": {
        "no certificate": OK,
        "trusted CA": OK,
        "other CA": NO_ANSWER,
        "expired": NO_ANSWER,
    },
    "RequireAndVerifyClientCert": {
        "no certificate": NO_ANSWER,
        "trusted CA": OK,
        "other CA": NO_ANSWER,
        "expired": NO_ANSWER,
    },
}


# The verifying modes need client_ca_file and NoClientCert refuses it; the unverified modes
# work either way (there it only names the acceptable CAs to the client).
MODES_AND_CA = [
    ("NoClientCert", False),
    ("RequestClientCert", False),
    ("RequestClientCert", True),
    ("RequireAnyClientCert", False),
    ("RequireAnyClientCert", True),
    ("VerifyClientCertIfGiven", True),
    ("RequireAndVerifyClientCert", True),
]


@pytest.mark.parametrize(
    ("mode", "with_ca"),
    MODES_AND_CA,
    ids=[f"{mode}-{'client-ca' if with_ca else 'no-ca'}" for mode, with_ca in MODES_AND_CA],
)
async def test_client_certificate_modes_behave_as_named(
    tmp_path: Path, pki: Pki, mode: str, with_ca: bool
) -> None:
    install_certificate(tmp_path, pki.server_ca)
    pki.client_ca.cert_pem.write_to_path(str(tmp_path / "client-ca.pem"))
    settings = [f"client_auth_type: {mode}"]
    if with_ca:
        settings.append("client_ca_file: client-ca.pem")
    certificates = {
        "no certificate": None,
        "trusted CA": pki.trusted_client,
        "other CA": pki.stranger,
        "expired": pki.expired,
    }
    outcomes: dict[tuple[str, str], int | None] = {}
    async with serving(write_web_config(tmp_path, *settings)) as served:
        for version in (TLS12, TLS13):  # TLS 1.3 checks the client's certificate later
            for client in CLIENTS:
                context = client_context(
                    pki.server_ca, certificates[client], min_version=version, max_version=version
                )
                seen = await exchange(served.port, context)
                outcomes[(client, version.name)] = seen.answer
    assert outcomes == {
        (client, version.name): EXPECTED[mode][client]
        for version in (TLS12, TLS13)
        for client in CLIENTS
    }


# --- reloads ---------------------------------------------------------------------------------


async def reload_over_tls(port: int, context: ssl.SSLContext) -> Exchange:
    return await exchange(port, context, "/-/reload", "POST")


async def scrape_reload_metric(port: int, context: ssl.SSLContext) -> float:
    seen = await exchange(port, context, "/metrics")
    assert seen.answer == OK, seen
    value = metric_value(seen.body, RELOAD_METRIC)
    assert value is not None, seen.body
    return value


async def test_a_reload_rotates_the_certificate(tmp_path: Path, pki: Pki) -> None:
    old = install_certificate(tmp_path, pki.server_ca)
    async with serving(write_web_config(tmp_path)) as served:
        before = await exchange(served.port, client_context(pki.server_ca))
        assert (before.answer, before.peer) == (OK, der(old))
        new_ca = trustme.CA()
        new = install_certificate(tmp_path, new_ca)
        reloaded = await reload_over_tls(served.port, client_context(pki.server_ca))
        assert (reloaded.answer, reloaded.body) == (OK, "config reloaded\n")
        after = await exchange(served.port, client_context(new_ca))
        assert (after.answer, after.peer) == (OK, der(new))
        stale = await exchange(served.port, client_context(pki.server_ca))
        assert stale.answer == NO_ANSWER
        assert "CERTIFICATE_VERIFY_FAILED" in stale.error
        assert await scrape_reload_metric(served.port, client_context(new_ca)) == 1.0


def half_rotated(folder: Path) -> str:
    """A new certificate in place while the key is still the old one."""
    trustme.CA().issue_cert("localhost").cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    return "tls_server_config: key_file: does not match cert_file"


def unknown_key(folder: Path) -> str:
    write_web_config(folder, "client_auth: none")
    return (
        "tls_server_config: unknown key 'client_auth' (allowed: cert_file, key_file, "
        "client_ca_file, client_auth_type, min_version, max_version, cipher_suites, "
        "curve_preferences, prefer_server_cipher_suites)"
    )


def missing_certificate(folder: Path) -> str:
    (folder / "cert.pem").unlink()
    return "tls_server_config: cert_file: cert.pem: no such file"


@pytest.mark.parametrize("breaking", [half_rotated, unknown_key, missing_certificate])
async def test_a_broken_web_config_on_reload_keeps_the_old_one(
    tmp_path: Path, pki: Pki, breaking: Callable[[Path], str]
) -> None:
    old = install_certificate(tmp_path, pki.server_ca)
    web_config = write_web_config(tmp_path)
    trusted = client_context(pki.server_ca)
    async with serving(web_config) as served:
        problem = breaking(tmp_path)
        failed = await reload_over_tls(served.port, trusted)
        assert (failed.answer, failed.body) == (
            500,
            f"failed to reload config:\n{web_config}: {problem}\n",
        )
        still = await exchange(served.port, trusted)
        assert (still.answer, still.peer) == (OK, der(old))
        assert await scrape_reload_metric(served.port, trusted) == 0.0
        # Once the files are right again, the next reload takes them.
        new_ca = trustme.CA()
        new = install_certificate(tmp_path, new_ca)
        write_web_config(tmp_path)
        assert (await reload_over_tls(served.port, trusted)).answer == OK
        after = await exchange(served.port, client_context(new_ca))
        assert (after.answer, after.peer) == (OK, der(new))
        assert await scrape_reload_metric(served.port, client_context(new_ca)) == 1.0


async def test_sighup_rereads_the_web_config(tmp_path: Path, pki: Pki) -> None:
    old = install_certificate(tmp_path, pki.server_ca)
    web_config = write_web_config(tmp_path)
    demo_port = free_port()
    exporter = ExporterProcess(
        "--demo",
        "--web.config.file",
        str(web_config),
        "--web.listen-address",
        f"127.0.0.1:{demo_port}",
        cwd=tmp_path,
    )
    async with exporter:
        await exporter.output_matching(r"metrics: +https://127\.0\.0\.1:\d+/metrics", 30.0)
        first = await exchange(demo_port, client_context(pki.server_ca))
        assert (first.answer, first.peer) == (OK, der(old))

        new_ca = trustme.CA()
        new = install_certificate(tmp_path, new_ca)
        exporter.send_signal(signal.SIGHUP)

        async def rotated() -> bool:
            seen = await exchange(demo_port, client_context(new_ca))
            return seen.answer == OK and seen.peer == der(new)

        await wait_until(rotated, "the new certificate after SIGHUP", PROCESS_DEADLINE)

        problem = unknown_key(tmp_path)
        exporter.send_signal(signal.SIGHUP)

        async def reload_failed() -> bool:
            return await scrape_reload_metric(demo_port, client_context(new_ca)) == 0.0

        await wait_until(reload_failed, f"{RELOAD_METRIC} 0 after SIGHUP", PROCESS_DEADLINE)
        still = await exchange(demo_port, client_context(new_ca))
        assert (still.answer, still.peer) == (OK, der(new))
    assert exporter.returncode == 0
    assert f"{web_config}: {problem}" in exporter.stderr
