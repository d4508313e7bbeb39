"""The web configuration file (exporter-toolkit's): strict parsing, one line per problem.

Certificates are made by trustme in each test's directory; the table gives the file's text
and every problem it must yield, in order, after the ``<file>: `` prefix.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from prometheus_harness import run_exporter
from support import bcrypt_hash

from balance_exporter.config import tls as clientcert
from balance_exporter.config.webconfig import WebConfig, describe_web, load_web_config
from balance_exporter.config.yamlfile import ConfigError

GOOD_CONFIG = Path(__file__).parent / "configs" / "good" / "minimal.yml"
PASSWORD_CANARY = "CANARY-webconfig-plain-password-5e1d"
HASH = bcrypt_hash("secret")
TLS_KEYS = (
    "cert_file, key_file, client_ca_file, client_auth_type, min_version, max_version, "
    "cipher_suites, curve_preferences, prefer_server_cipher_suites"
)
HEADERS = (
    "Content-Security-Policy, X-Frame-Options, X-Content-Type-Options, X-XSS-Protection, "
    "Strict-Transport-Security"
)
TLS = "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n"


def write_tls_files(folder: Path) -> None:
    """cert.pem/key.pem (server), other-*.pem (another CA's pair), client-ca.pem, junk, enc."""
    folder.mkdir(parents=True, exist_ok=True)
    server = trustme.CA().issue_cert("localhost", "127.0.0.1")
    server.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    server.private_key_pem.write_to_path(str(folder / "key.pem"))
    other = trustme.CA().issue_cert("localhost")
    other.cert_chain_pems[0].write_to_path(str(folder / "other-cert.pem"))
    other.private_key_pem.write_to_path(str(folder / "other-key.pem"))
    trustme.CA().cert_pem.write_to_path(str(folder / "client-ca.pem"))
    (folder / "junk.pem").write_text("not a PEM file\n", encoding="utf-8")
    key = serialization.load_pem_private_key(server.private_key_pem.bytes(), password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    )
    (folder / "enc.pem").write_bytes(encrypted)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_tls_files(tmp_path)
    return tmp_path


def write(folder: Path, text: str, name: str = "web.yml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_web_config(path)
    return caught.value.problems


BAD = [
    pytest.param(
        "tls_server_confg:\n  cert_file: cert.pem\n",
        [
            "top level: unknown key 'tls_server_confg' "
            "(allowed: tls_server_config, http_server_config, basic_auth_users)"
        ],
        id="unknown-top-level-key",
    ),
    pytest.param(
        TLS + "  cert: inline\n",
        [f"tls_server_config: unknown key 'cert' (allowed: {TLS_KEYS})"],
        id="unknown-tls-key",
    ),
    pytest.param(
        "http_server_config:\n  http3: true\n",
        ["http_server_config: unknown key 'http3' (allowed: http2, headers)"],
        id="unknown-http-key",
    ),
    pytest.param(
        "tls_server_config: [cert.pem]\n",
        ["tls_server_config: must be a mapping"],
        id="tls-not-a-mapping",
    ),
    pytest.param(
        "tls_server_config:\n  cert_file: missing.pem\n  key_file: key.pem\n",
        ["tls_server_config: cert_file: missing.pem: no such file"],
        id="missing-cert-file",
    ),
    pytest.param(
        "tls_server_config:\n  cert_file: cert.pem\n  key_file: missing-key.pem\n",
        ["tls_server_config: key_file: missing-key.pem: no such file"],
        id="missing-key-file",
    ),
    pytest.param(
        TLS + "  client_ca_file: missing-ca.pem\n  client_auth_type: VerifyClientCertIfGiven\n",
        ["tls_server_config: client_ca_file: missing-ca.pem: no such file"],
        id="missing-ca-file",
    ),
    pytest.param(
        "tls_server_config:\n  cert_file: cert.pem\n",
        ["tls_server_config: key_file: is required"],
        id="no-key-file",
    ),
    pytest.param(
        "tls_server_config:\n  cert_file: cert.pem\n  key_file: other-key.pem\n",
        ["tls_server_config: key_file: does not match cert_file"],
        id="key-does-not-match-cert",
    ),
    pytest.param(
        "tls_server_config:\n  cert_file: junk.pem\n  key_file: key.pem\n",
        ["tls_server_config: cert_file: junk.pem: no PEM certificate in it"],
        id="cert-file-not-a-certificate",
    ),
    pytest.param(
        "tls_server_config:\n  cert_file: cert.pem\n  key_file: junk.pem\n",
        ["tls_server_config: key_file: junk.pem: no usable PEM private key in it"],
        id="key-file-not-a-key",
    ),
    pytest.param(
        "tls_server_config:\n  cert_file: cert.pem\n  key_file: enc.pem\n",
        ["tls_server_config: key_file: enc.pem: is encrypted; a passphrase cannot be given"],
        id="encrypted-key",
    ),
    pytest.param(
        TLS + "  client_ca_file: junk.pem\n  client_auth_type: RequireAndVerifyClientCert\n",
        ["tls_server_config: client_ca_file: junk.pem: no PEM certificate in it"],
        id="ca-file-not-a-certificate",
    ),
    pytest.param(
        TLS + "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
        [
            "tls_server_config: cipher_suites: not supported: Python's TLS cannot be limited "
            "to a list of cipher suites; remove it"
        ],
        id="cipher-suites",
    ),
    pytest.param(
        TLS + "  curve_preferences: [X25519]\n",
        [
            "tls_server_config: curve_preferences: not supported: Python's TLS cannot be "
            "limited to a list of curves; remove it"
        ],
        id="curve-preferences",
    ),
    pytest.param(
        TLS + "  client_ca_file: client-ca.pem\n  client_auth_type: VerifyAlways\n",
        [
            "tls_server_config: client_auth_type: unknown 'VerifyAlways' (known: NoClientCert, "
            "RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, "
            "RequireAndVerifyClientCert)"
        ],
        id="unknown-client-auth-type",
    ),
    *(
        pytest.param(
            TLS + f"  client_auth_type: {mode}\n",
            [f"tls_server_config: client_auth_type: {mode} needs client_ca_file"],
            id=f"{mode}-without-ca",
        )
        for mode in ("VerifyClientCertIfGiven", "RequireAndVerifyClientCert")
    ),
    pytest.param(
        TLS + "  client_ca_file: client-ca.pem\n  client_auth_type: NoClientCert\n",
        ["tls_server_config: client_ca_file: given, but client_auth_type is NoClientCert"],
        id="ca-with-NoClientCert",
    ),
    pytest.param(
        TLS + "  client_ca_file: client-ca.pem\n",
        ["tls_server_config: client_ca_file: given, but client_auth_type is NoClientCert"],
        id="ca-with-default-client-auth-type",
    ),
    pytest.param(
        TLS + "  min_version: TLS1.2\n",
        ["tls_server_config: min_version: must be one of TLS10, TLS11, TLS12, TLS13"],
        id="bad-min-version",
    ),
    pytest.param(
        TLS + "  max_version: SSL30\n",
        ["tls_server_config: max_version: must be one of TLS10, TLS11, TLS12, TLS13"],
        id="bad-max-version",
    ),
    pytest.param(
        TLS + "  min_version: TLS13\n  max_version: TLS12\n",
        ["tls_server_config: min_version: is above max_version"],
        id="min-above-max",
    ),
    pytest.param(
        TLS + "  prefer_server_cipher_suites: yes please\n",
        ["tls_server_config: prefer_server_cipher_suites: must be true or false"],
        id="prefer-server-cipher-suites-not-a-bool",
    ),
    pytest.param(
        "http_server_config:\n  headers:\n    Server: balance-exporter\n",
        [f"http_server_config: headers: 'Server' cannot be set (allowed: {HEADERS})"],
        id="header-outside-the-allowed-set",
    ),
    pytest.param(
        'http_server_config:\n  headers:\n    X-Frame-Options: "DENY\\r\\nSet-Cookie: a=b"\n',
        ["http_server_config: headers: X-Frame-Options: must be a one-line string"],
        id="header-value-on-two-lines",
    ),
    pytest.param(
        "http_server_config:\n  http2: maybe\n",
        ["http_server_config: http2: must be true or false"],
        id="http2-not-a-bool",
    ),
    pytest.param(
        f"basic_auth_users:\n  alice: {PASSWORD_CANARY}\n",
        ["basic_auth_users: alice: must be a bcrypt hash (htpasswd -nBC 10 alice)"],
        id="plain-password",
    ),
    pytest.param(
        f"basic_auth_users:\n  'alice:admin': '{HASH}'\n",
        ["basic_auth_users: user names must be non-empty strings without ':'"],
        id="user-name-with-colon",
    ),
    pytest.param(
        "basic_auth_users: [alice]\n",
        ["basic_auth_users: must be a mapping of user names to bcrypt hashes"],
        id="users-not-a-mapping",
    ),
    pytest.param(
        "- tls_server_config\n",
        ["top level: expected a mapping"],
        id="top-level-list",
    ),
    pytest.param(
        "tls_server_config:\n"
        "  cert_file: missing.pem\n"
        "  key_file: key.pem\n"
        "  client_auth_type: VerifyAlways\n"
        "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n"
        "  min_version: TLS14\n"
        "http_server_config:\n"
        "  headers:\n"
        "    Set-Cookie: a=b\n"
        "basic_auth_users:\n"
        f"  bob: {PASSWORD_CANARY}\n"
        "rate_limit: {}\n",
        [
            "top level: unknown key 'rate_limit' "
            "(allowed: tls_server_config, http_server_config, basic_auth_users)",
            "tls_server_config: cipher_suites: not supported: Python's TLS cannot be limited "
            "to a list of cipher suites; remove it",
            "tls_server_config: cert_file: missing.pem: no such file",
            "tls_server_config: client_auth_type: unknown 'VerifyAlways' (known: NoClientCert, "
            "RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, "
            "RequireAndVerifyClientCert)",
            "tls_server_config: min_version: must be one of TLS10, TLS11, TLS12, TLS13",
            f"http_server_config: headers: 'Set-Cookie' cannot be set (allowed: {HEADERS})",
            "basic_auth_users: bob: must be a bcrypt hash (htpasswd -nBC 10 bob)",
        ],
        id="several-problems",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD)
def test_a_bad_web_config_names_the_file_and_the_key(
    folder: Path, text: str, expected: list[str]
) -> None:
    path = write(folder, text)
    problems = problems_of(path)
    assert problems == [f"{path}: {problem}" for problem in expected]
    for problem in problems:
        assert "\n" not in problem
        assert PASSWORD_CANARY not in problem


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("  min_version: [TLS12]\n", "min_version: must be one of TLS10, TLS11, TLS12, TLS13"),
        ("  max_version: {TLS13: 1}\n", "max_version: must be one of TLS10, TLS11, TLS12, TLS13"),
        (
            "  client_auth_type: {}\n",
            "client_auth_type: unknown {} (known: NoClientCert, RequestClientCert, "
            "RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)",
        ),
    ],
    ids=["list", "mapping", "empty-mapping"],
)
def test_a_list_or_mapping_where_a_word_belongs_is_one_line(
    folder: Path, line: str, expected: str
) -> None:
    path = write(folder, TLS + line)
    assert problems_of(path) == [f"{path}: tls_server_config: {expected}"]


def test_invalid_yaml_is_one_line(folder: Path) -> None:
    path = write(folder, "tls_server_config:\n  cert_file: [cert.pem\n")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}: invalid YAML: ")
    assert "\n" not in problem


def test_a_missing_web_config_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yml"
    assert problems_of(path) == [f"{path}: cannot read: No such file or directory"]


def test_a_key_given_twice_is_refused(folder: Path) -> None:
    path = write(folder, TLS + "  key_file: other-key.pem\n")
    [problem] = problems_of(path)
    assert problem == f"{path}: invalid YAML: key 'key_file' given twice (line 4)"


def test_an_empty_file_is_plain_http_without_auth(folder: Path) -> None:
    path = write(folder, "")
    config = load_web_config(path)
    assert config == WebConfig(source=str(path))
    assert config.ssl_context() is None
    assert describe_web(config) == "plain HTTP, no auth"


def test_a_good_web_config(folder: Path) -> None:
    path = write(
        folder,
        TLS
        + "  client_ca_file: client-ca.pem\n"
        + "  client_auth_type: RequireAndVerifyClientCert\n"
        + "  min_version: TLS13\n"
        + "http_server_config:\n"
        + "  http2: true\n"
        + "  headers:\n"
        + "    strict-transport-security: max-age=31536000\n"
        + "    X-Frame-Options: DENY\n"
        + f"basic_auth_users:\n  alice: '{HASH}'\n",
    )
    config = load_web_config(path)
    assert config.tls is not None
    assert config.tls.cert_file == folder / "cert.pem"
    assert config.tls.key_file == folder / "key.pem"
    assert config.tls.client_ca_file == folder / "client-ca.pem"
    assert config.tls.client_auth_type == "RequireAndVerifyClientCert"
    assert (config.tls.min_version, config.tls.max_version) == ("TLS13", "TLS13")
    # Header names are written as the toolkit's list spells them.
    assert dict(config.headers) == {
        "Strict-Transport-Security": "max-age=31536000",
        "X-Frame-Options": "DENY",
    }
    assert [(user, hashed.reveal()) for user, hashed in config.users.items()] == [("alice", HASH)]
    assert HASH not in repr(config)
    assert describe_web(config) == (
        "TLS TLS13-TLS13, client certificates: RequireAndVerifyClientCert; "
        "basic auth for 1 user(s); headers: Strict-Transport-Security, X-Frame-Options"
    )
    context = config.ssl_context()
    assert context is not None
    assert context.verify_mode.name == "CERT_REQUIRED"
    assert context.minimum_version.name == "TLSv1_3"


@pytest.mark.parametrize("with_ca", [False, True], ids=["without-ca", "with-ca"])
@pytest.mark.parametrize(
    ("mode", "verify_mode"),
    [("RequestClientCert", "CERT_OPTIONAL"), ("RequireAnyClientCert", "CERT_REQUIRED")],
)
def test_unverified_client_certificate_modes_need_no_ca(
    folder: Path, mode: str, verify_mode: str, with_ca: bool
) -> None:
    ca_line = "  client_ca_file: client-ca.pem\n" if with_ca else ""
    config = load_web_config(write(folder, TLS + ca_line + f"  client_auth_type: {mode}\n"))
    assert config.tls is not None
    assert config.tls.client_auth_type == mode
    assert describe_web(config) == f"TLS TLS12-TLS13, client certificates: {mode}"
    context = config.ssl_context()
    assert context is not None
    assert context.verify_mode.name == verify_mode


def test_an_unverified_mode_this_python_cannot_serve_is_one_line(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable() -> None:
        raise clientcert.Unsupported(
            "Python's _ssl module is built in, its OpenSSL cannot be reached"
        )

    monkeypatch.setattr(clientcert, "_libssl", unreachable)
    path = write(folder, TLS + "  client_auth_type: RequestClientCert\n")
    assert problems_of(path) == [
        f"{path}: tls_server_config: client_auth_type: RequestClientCert is not supported by "
        "this Python: Python's _ssl module is built in, its OpenSSL cannot be reached"
    ]


def test_relative_paths_resolve_against_the_web_config_folder(
    folder: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    certs = folder / "certs"
    certs.mkdir()
    shutil.copy(folder / "cert.pem", certs / "cert.pem")
    shutil.copy(folder / "key.pem", certs / "key.pem")
    path = write(folder, "tls_server_config:\n  cert_file: certs/cert.pem\n  key_file: key.pem\n")
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "key.pem").write_text("not the key", encoding="utf-8")
    monkeypatch.chdir(elsewhere)
    config = load_web_config(path)
    assert config.tls is not None
    assert config.tls.cert_file == certs / "cert.pem"
    assert config.tls.key_file == folder / "key.pem"


def test_a_rotated_certificate_changes_the_tls_config(folder: Path) -> None:
    path = write(folder, TLS)
    before = load_web_config(path)
    assert load_web_config(path).tls == before.tls
    shutil.copy(folder / "other-cert.pem", folder / "cert.pem")
    shutil.copy(folder / "other-key.pem", folder / "key.pem")
    assert load_web_config(path).tls != before.tls


# --- through the command line ----------------------------------------------------------------


def run_with_web_config(
    web_config: Path | str, *flags: str, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """The exporter with a good config file, ``web_config`` and ``flags``, run from ``cwd``."""
    return run_exporter(
        *flags, "--config.file", str(GOOD_CONFIG), "--web.config.file", str(web_config), cwd=cwd
    )


@pytest.mark.parametrize("check", [False, True], ids=["serve", "config-check"])
def test_the_cli_refuses_a_bad_web_config_with_exit_2(
    folder: Path, tmp_path_factory: pytest.TempPathFactory, check: bool
) -> None:
    path = write(
        folder,
        "tls_server_config:\n"
        "  cert_file: cert.pem\n"
        "  key_file: other-key.pem\n"
        "  curve_preferences: [X25519]\n"
        f"basic_auth_users:\n  alice: {PASSWORD_CANARY}\n",
    )
    flags = ["--config.check"] if check else ["--web.listen-address", "127.0.0.1:1"]
    result = run_with_web_config(path, *flags, cwd=tmp_path_factory.mktemp("cwd"))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"{path}: tls_server_config: curve_preferences: not supported: Python's TLS cannot be "
        "limited to a list of curves; remove it",
        f"{path}: basic_auth_users: alice: must be a bcrypt hash (htpasswd -nBC 10 alice)",
    ]
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert PASSWORD_CANARY not in result.stderr


def test_the_cli_refuses_a_missing_web_config_file(tmp_path: Path) -> None:
    result = run_with_web_config("absent.yml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "absent.yml: cannot read: No such file or directory\n"


def test_config_check_describes_a_good_web_config(
    folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = write(
        folder,
        TLS
        + "  client_ca_file: client-ca.pem\n"
        + "  client_auth_type: VerifyClientCertIfGiven\n"
        + "http_server_config:\n  headers:\n    X-Frame-Options: DENY\n"
        + f"basic_auth_users:\n  prometheus-scraper: '{HASH}'\n  grafana-user: '{HASH}'\n",
    )
    # Run from elsewhere: the certificates are found next to the web config, not in the cwd.
    result = run_with_web_config(path, "--config.check", cwd=tmp_path_factory.mktemp("cwd"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{GOOD_CONFIG}: OK, 1 account(s)"
    assert lines[-1] == (
        f"{path}: OK, TLS TLS12-TLS13, client certificates: VerifyClientCertIfGiven; "
        "basic auth for 2 user(s); headers: X-Frame-Options"
    )
    everything = result.stdout + result.stderr
    for revealing in ("prometheus-scraper", "grafana-user", HASH, HASH[:20]):
        assert revealing not in everything
    assert re.search(r"\$2[aby]\$", everything) is None
