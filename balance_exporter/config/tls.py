"""Asking for a client certificate without verifying it (RequestClientCert, RequireAnyClientCert).

Go's TLS can request a certificate and accept whatever is sent; Python's ``ssl`` verifies any
certificate it asks for, and has no verify callback to say otherwise. OpenSSL has one:
``SSL_CTX_set_verify`` with a callback that accepts every certificate. The ``SSL_CTX`` of an
``ssl.SSLContext`` is the first field after the object header in CPython's ``_ssl`` module, and
the library is reached through ``_ssl`` itself, so it is the very OpenSSL Python uses. CPython's
``ssl`` keeps a callback set this way when ``verify_mode`` changes later. Before writing, the
pointer is checked against what Python itself reports of the context; where anything does not
hold (another Python, a statically linked ``_ssl``), the mode is refused with the reason.
"""

from __future__ import annotations

import ctypes
import ssl
import sys
from typing import Any

_SSL_VERIFY_PEER = 0x01
_SSL_VERIFY_FAIL_IF_NO_PEER_CERT = 0x02
_MODES = {
    ssl.CERT_OPTIONAL: _SSL_VERIFY_PEER,
    ssl.CERT_REQUIRED: _SSL_VERIFY_PEER | _SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
}

_VERIFY_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)


def _accept(preverify_ok: int, store: int | None) -> int:
    return 1  # whatever OpenSSL found wrong with the certificate, it is accepted


# Kept for the process's life: OpenSSL holds a pointer to it in every context it was set on.
_ACCEPT_EVERY_CERTIFICATE = _VERIFY_CALLBACK(_accept)


class Unsupported(Exception):
    """This Python's TLS cannot be made to accept an unverified client certificate."""


def accept_any_client_certificate(context: ssl.SSLContext) -> None:
    """Keep the context's request for a client certificate (and its need of one, under
    CERT_REQUIRED), but accept any certificate: expired, self-signed, from any CA."""
    if context.verify_mode not in _MODES:
        raise ValueError("verify_mode must be CERT_OPTIONAL or CERT_REQUIRED")
    library = _libssl()
    handle = _ssl_ctx(context, library)
    library.SSL_CTX_set_verify(
        handle, library.SSL_CTX_get_verify_mode(handle), _ACCEPT_EVERY_CERTIFICATE
    )


def _libssl() -> Any:
    if sys.implementation.name != "cpython":
        raise Unsupported(f"needs CPython, this is {sys.implementation.name}")
    import _ssl

    path = getattr(_ssl, "__file__", None)
    if path is None:
        raise Unsupported("Python's _ssl module is built in, its OpenSSL cannot be reached")
    try:
        library = ctypes.CDLL(path)
        for name, restype, argtypes in (
            ("SSL_CTX_get_verify_mode", ctypes.c_int, [ctypes.c_void_p]),
            ("SSL_CTX_get_options", ctypes.c_uint64, [ctypes.c_void_p]),
            ("SSL_CTX_set_verify", None, [ctypes.c_void_p, ctypes.c_int, _VERIFY_CALLBACK]),
        ):
            function = getattr(library, name)
            function.restype, function.argtypes = restype, argtypes
    except (OSError, AttributeError) as exc:
        raise Unsupported(f"Python's OpenSSL cannot be reached: {exc}") from None
    return library


def _ssl_ctx(context: ssl.SSLContext, library: Any) -> int:
    """The context's SSL_CTX pointer, once OpenSSL agrees it is this context's."""
    handle = ctypes.c_void_p.from_address(id(context) + object.__basicsize__).value
    if not handle:
        raise Unsupported("the context's OpenSSL state was not found")
    # Two readings that must match what Python reports before anything is written.
    if library.SSL_CTX_get_verify_mode(handle) != _MODES[context.verify_mode] or (
        library.SSL_CTX_get_options(handle) != int(context.options)
    ):
        raise Unsupported("the context's OpenSSL state does not match Python's view of it")
    return int(handle)
