"""Accepting an unverified client certificate: the OpenSSL verify callback and its guards.

Handshakes run in memory (two SSLObjects joined by MemoryBIOs), so no socket is involved;
tests/test_tls.py covers the modes end to end through the exporter's listener.
"""

from __future__ import annotations

import ssl
import sys
from types import SimpleNamespace

import pytest
import trustme

from balance_exporter.config import tls as clientcert
from balance_exporter.config.tls import Unsupported, accept_any_client_certificate

HANDSHAKE_ROUNDS = 20  # a TLS handshake needs a few round trips; this bounds a stuck one


@pytest.fixture(scope="module")
def server_ca() -> trustme.CA:
    return trustme.CA()


def server_context(server_ca: trustme.CA, verify_mode: ssl.VerifyMode) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ca.issue_cert("localhost").configure_cert(context)
    context.verify_mode = verify_mode
    return context


def handshake(server: ssl.SSLContext, server_ca: trustme.CA, client_cert: bool) -> str:
    """'ok', or the server's SSL error reason, for one in-memory TLS 1.2 handshake."""
    client = ssl.create_default_context()
    client.maximum_version = ssl.TLSVersion.TLSv1_2  # the client's certificate is checked in it
    server_ca.configure_trust(client)
    if client_cert:
        trustme.CA().issue_cert("scraper@example.org").configure_cert(client)
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    client_side = client.wrap_bio(to_client, to_server, server_hostname="localhost")
    server_side = server.wrap_bio(to_server, to_client, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(HANDSHAKE_ROUNDS):
        for name, side in (("client", client_side), ("server", server_side)):
            if done[name]:
                continue
            try:
                side.do_handshake()
                done[name] = True
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as exc:
                if name == "server":
                    return str(exc.reason)
                raise
        if all(done.values()):
            return "ok"
    raise AssertionError("the handshake did not finish")


@pytest.mark.parametrize(
    ("verify_mode", "client_cert", "without", "with_callback"),
    [
        (ssl.CERT_OPTIONAL, True, "CERTIFICATE_VERIFY_FAILED", "ok"),
        (ssl.CERT_OPTIONAL, False, "ok", "ok"),
        (ssl.CERT_REQUIRED, True, "CERTIFICATE_VERIFY_FAILED", "ok"),
        (
            ssl.CERT_REQUIRED,
            False,
            "PEER_DID_NOT_RETURN_A_CERTIFICATE",
            "PEER_DID_NOT_RETURN_A_CERTIFICATE",
        ),
    ],
)
def test_an_unknown_certificate_is_accepted_and_a_missing_one_still_refused_when_required(
    server_ca: trustme.CA,
    verify_mode: ssl.VerifyMode,
    client_cert: bool,
    without: str,
    with_callback: str,
) -> None:
    assert handshake(server_context(server_ca, verify_mode), server_ca, client_cert) == without
    context = server_context(server_ca, verify_mode)
    accept_any_client_certificate(context)
    assert context.verify_mode == verify_mode
    assert handshake(context, server_ca, client_cert) == with_callback


def test_the_callback_survives_a_later_change_of_verify_mode(server_ca: trustme.CA) -> None:
    context = server_context(server_ca, ssl.CERT_OPTIONAL)
    accept_any_client_certificate(context)
    context.verify_mode = ssl.CERT_REQUIRED
    assert handshake(context, server_ca, client_cert=True) == "ok"
    assert handshake(context, server_ca, client_cert=False) == "PEER_DID_NOT_RETURN_A_CERTIFICATE"


def test_a_context_that_asks_for_no_certificate_is_refused(server_ca: trustme.CA) -> None:
    with pytest.raises(ValueError, match="CERT_OPTIONAL or CERT_REQUIRED"):
        accept_any_client_certificate(server_context(server_ca, ssl.CERT_NONE))


def test_nothing_is_written_when_openssl_disagrees_with_python(server_ca: trustme.CA) -> None:
    context = server_context(server_ca, ssl.CERT_OPTIONAL)
    written: list[object] = []
    disagreeing = SimpleNamespace(
        SSL_CTX_get_verify_mode=lambda handle: 0,  # Python says CERT_OPTIONAL (1)
        SSL_CTX_get_options=lambda handle: int(context.options),
        SSL_CTX_set_verify=lambda *args: written.append(args),
    )
    with pytest.raises(Unsupported, match="does not match Python's view"):
        clientcert._ssl_ctx(context, disagreeing)
    assert written == []


def test_another_python_is_told_why(server_ca: trustme.CA, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "implementation", SimpleNamespace(name="pypy"))
    with pytest.raises(Unsupported, match="needs CPython, this is pypy"):
        accept_any_client_certificate(server_context(server_ca, ssl.CERT_OPTIONAL))
