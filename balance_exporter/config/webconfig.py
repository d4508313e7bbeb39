"""The exporter-toolkit web configuration file (``--web.config.file``): TLS, basic auth, headers.

The same file the Prometheus exporters written in Go accept. Parsing is strict: an unknown
key, a missing file, a key that does not match its certificate, or an option Python's TLS
cannot honour is a one-line problem naming the file and the key, never silently ignored.
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from balance_exporter.config.files import PEM_LIMIT, FileProblem, read_limited
from balance_exporter.config.secret import Secret
from balance_exporter.config.tls import Unsupported, accept_any_client_certificate
from balance_exporter.config.yamlfile import Checker, read_text, shown, shown_path

TOP_KEYS = ("tls_server_config", "http_server_config", "basic_auth_users")
TLS_KEYS = (
    "cert_file",
    "key_file",
    "client_ca_file",
    "client_auth_type",
    "min_version",
    "max_version",
    "cipher_suites",
    "curve_preferences",
    "prefer_server_cipher_suites",
)
HTTP_KEYS = ("http2", "headers")
# The headers exporter-toolkit lets an operator set.
ALLOWED_HEADERS = (
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "X-XSS-Protection",
    "Strict-Transport-Security",
)
TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
# What each client_auth_type asks of the client's certificate, in Python's terms.
CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_OPTIONAL,
    "RequireAnyClientCert": ssl.CERT_REQUIRED,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
# The modes that ask for a certificate and accept it unverified (client_ca_file optional).
UNVERIFIED_CLIENT_AUTH = ("RequestClientCert", "RequireAnyClientCert")
BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")


@dataclass(frozen=True)
class TLSConfig:
    """Checked TLS settings and the server context built from them.

    Constructing one reads the files and builds the context, once: what serves is what was
    checked. Raises ssl.SSLError / OSError on unusable files, Unsupported where this Python
    cannot accept an unverified client certificate.
    """

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None
    client_auth_type: str = "NoClientCert"
    min_version: str = "TLS12"
    max_version: str = "TLS13"
    prefer_server_cipher_suites: bool = True
    # Digest of the files' contents: a reload with rotated certificates counts as a change.
    fingerprint: str = field(init=False, repr=False)
    context: ssl.SSLContext = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Frozen: the derived fields are set the way dataclasses set fields themselves.
        object.__setattr__(self, "context", self._server_context())
        paths = (self.cert_file, self.key_file, self.client_ca_file)
        object.__setattr__(self, "fingerprint", _fingerprint(*paths))

    def _server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = TLS_VERSIONS[self.min_version]
        context.maximum_version = TLS_VERSIONS[self.max_version]
        # Never OpenSSL's passphrase prompt: it would wait on a terminal for ever.
        context.load_cert_chain(self.cert_file, self.key_file, password=_no_passphrase)
        context.verify_mode = CLIENT_AUTH[self.client_auth_type]
        if self.client_auth_type in UNVERIFIED_CLIENT_AUTH:
            accept_any_client_certificate(context)
        if self.client_ca_file is not None:
            context.load_verify_locations(cafile=self.client_ca_file)
        if self.prefer_server_cipher_suites:
            context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
        return context


@dataclass(frozen=True)
class WebConfig:
    tls: TLSConfig | None = None
    users: Mapping[str, Secret] = field(default_factory=dict)  # user -> bcrypt hash
    headers: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None

    __hash__ = None  # type: ignore[assignment]  # mappings inside: compared, never hashed

    def ssl_context(self) -> ssl.SSLContext | None:
        return None if self.tls is None else self.tls.context


def load_web_config(path: str | Path) -> WebConfig:
    """Read and check the file, TLS files included; ConfigError lists every problem."""
    return _Parser(str(path), Path(path).parent).check(read_text(path))


class _Parser(Checker[WebConfig]):
    def __init__(self, source: str, base_dir: Path) -> None:
        super().__init__(source)
        self.base_dir = base_dir

    def parse(self, document: Any) -> WebConfig:
        if document is None:
            return WebConfig(source=self.source)
        if not isinstance(document, dict):
            self.problem("top level", "expected a mapping")
            return WebConfig(source=self.source)
        self.unknown_keys(document, TOP_KEYS, "top level")
        tls = self.tls(self.section(document, "tls_server_config", TLS_KEYS))
        headers = self.headers(self.section(document, "http_server_config", HTTP_KEYS))
        users = self.users(document.get("basic_auth_users"))
        return WebConfig(tls, users, headers, self.source)

    def tls(self, raw: dict[str, Any]) -> TLSConfig | None:
        where = "tls_server_config"
        if not raw:
            return None
        count = len(self.problems)
        for key in ("cipher_suites", "curve_preferences"):
            if raw.get(key) is not None:
                self.problem(
                    where,
                    f"{key}: not supported: Python's TLS cannot be limited to a list of "
                    f"{'cipher suites' if key == 'cipher_suites' else 'curves'}; remove it",
                )
        cert_file = self.path(raw, "cert_file", where, required=True)
        key_file = self.path(raw, "key_file", where, required=True)
        client_ca_file = self.path(raw, "client_ca_file", where, required=False)
        auth = raw.get("client_auth_type", "NoClientCert")
        if not isinstance(auth, str) or auth not in CLIENT_AUTH:
            known = ", ".join(CLIENT_AUTH)
            self.problem(where, f"client_auth_type: unknown {shown(auth)} (known: {known})")
        elif (
            auth not in ("NoClientCert", *UNVERIFIED_CLIENT_AUTH)
            and raw.get("client_ca_file") is None
        ):
            self.problem(where, f"client_auth_type: {auth} needs client_ca_file")
        elif auth == "NoClientCert" and raw.get("client_ca_file") is not None:
            self.problem(where, "client_ca_file: given, but client_auth_type is NoClientCert")
        versions = [
            self.version(raw, key, default, where)
            for key, default in (("min_version", "TLS12"), ("max_version", "TLS13"))
        ]
        if None not in versions and TLS_VERSIONS[str(versions[0])] > TLS_VERSIONS[str(versions[1])]:
            self.problem(where, "min_version: is above max_version")
        prefer = raw.get("prefer_server_cipher_suites", True)
        if not isinstance(prefer, bool):
            self.problem(where, "prefer_server_cipher_suites: must be true or false")
        if len(self.problems) > count or cert_file is None or key_file is None:
            return None
        # The certificate files first, so that a problem names the file it is in.
        for key, path in (("cert_file", cert_file), ("client_ca_file", client_ca_file)):
            if path is not None and not _has_certificate(path):
                self.problem(where, f"{key}: {raw[key]}: no PEM certificate in it")
                return None
        try:
            return TLSConfig(
                cert_file,
                key_file,
                client_ca_file,
                str(auth),
                str(versions[0]),
                str(versions[1]),
                bool(prefer),
            )
        except ssl.SSLError as exc:
            if "KEY_VALUES_MISMATCH" in str(exc.reason).upper():
                self.problem(where, "key_file: does not match cert_file")
            else:  # OpenSSL's reason here is its source line, of no use to an operator
                self.problem(where, f"key_file: {raw['key_file']}: no usable PEM private key in it")
            return None
        except Unsupported as exc:
            self.problem(where, f"client_auth_type: {auth} is not supported by this Python: {exc}")
            return None
        except _EncryptedKey:
            self.problem(
                where, f"key_file: {raw['key_file']}: is encrypted; a passphrase cannot be given"
            )
            return None
        except (OSError, ValueError) as exc:
            self.problem(where, f"cert_file/key_file: cannot be used: {exc}")
            return None

    def path(self, raw: dict[str, Any], key: str, where: str, *, required: bool) -> Path | None:
        value = raw.get(key)
        if value is None:
            if required:
                self.problem(where, f"{key}: is required")
            return None
        if not isinstance(value, str) or not value:
            self.problem(where, f"{key}: must be a file path")
            return None
        shown = shown_path(value)
        try:
            path = self.base_dir / Path(value).expanduser()
            if not path.exists():
                self.problem(where, f"{key}: {shown}: no such file")
                return None
            read_limited(path, PEM_LIMIT)
        except FileProblem as exc:
            self.problem(where, f"{key}: {exc.about(shown)}")
            return None
        except (RuntimeError, ValueError):  # ~user that does not exist, a NUL in the path
            self.problem(where, f"{key}: {shown}: not a usable path")
            return None
        return path

    def version(self, raw: dict[str, Any], key: str, default: str, where: str) -> str | None:
        value = raw.get(key, default)
        if not isinstance(value, str) or value not in TLS_VERSIONS:
            self.problem(where, f"{key}: must be one of {', '.join(TLS_VERSIONS)}")
            return None
        return str(value)

    def headers(self, raw: dict[str, Any]) -> dict[str, str]:
        where = "http_server_config"
        http2 = raw.get("http2")
        if http2 is not None and not isinstance(http2, bool):
            self.problem(where, "http2: must be true or false")
        headers = raw.get("headers") or {}
        if not isinstance(headers, dict):
            self.problem(where, "headers: must be a mapping")
            return {}
        allowed = {name.lower(): name for name in ALLOWED_HEADERS}
        result: dict[str, str] = {}
        for name, value in headers.items():
            canonical = allowed.get(str(name).lower())
            if canonical is None:
                self.problem(
                    where,
                    f"headers: {shown(str(name))} cannot be set"
                    f" (allowed: {', '.join(ALLOWED_HEADERS)})",
                )
            elif not isinstance(value, str) or "\n" in value or "\r" in value:
                self.problem(where, f"headers: {canonical}: must be a one-line string")
            else:
                result[canonical] = value
        return result

    def users(self, raw: Any) -> dict[str, Secret]:
        where = "basic_auth_users"
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.problem(where, "must be a mapping of user names to bcrypt hashes")
            return {}
        users: dict[str, Secret] = {}
        for user, hashed in raw.items():
            if not isinstance(user, str) or not user or ":" in user:
                self.problem(where, "user names must be non-empty strings without ':'")
            elif not isinstance(hashed, str) or not hashed.startswith(BCRYPT_PREFIXES):
                # The value is not shown: a password pasted by mistake would otherwise be.
                self.problem(where, f"{user}: must be a bcrypt hash (htpasswd -nBC 10 {user})")
            else:
                users[user] = Secret(hashed)
        return users


def describe_web(config: WebConfig) -> str:
    """One line for --config.check; names no user and no hash."""
    parts = []
    if config.tls is not None:
        parts.append(
            f"TLS {config.tls.min_version}-{config.tls.max_version}, "
            f"client certificates: {config.tls.client_auth_type}"
        )
    if config.users:
        parts.append(f"basic auth for {len(config.users)} user(s)")
    if config.headers:
        parts.append(f"headers: {', '.join(config.headers)}")
    return "; ".join(parts) or "plain HTTP, no auth"


class _EncryptedKey(ValueError):
    """The key file needs a passphrase (exporter-toolkit cannot take one either)."""


def _no_passphrase() -> bytes:
    raise _EncryptedKey("key_file is encrypted")


def _has_certificate(path: Path) -> bool:
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=path)
    except ssl.SSLError:
        return False
    return True


def _fingerprint(*paths: Path | None) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(b"\0" if path is None else path.read_bytes())
    return digest.hexdigest()
