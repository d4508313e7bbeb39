"""One canary secret, every surface: it never shows anywhere the exporter writes or serves.

The canary is the credential of accounts at every provider: inline, through ``${ENV}``, in a
secret file, as a Twilio auth token and as a Twilio API key secret. A fake provider on
127.0.0.1 refuses it and echoes it back every way a provider might: whole in its error text,
upper-cased, cut short, as its error code, as an amount or a currency of a 200 answer, in the
reason header of a degraded answer, and inside the Authorization header it quotes back.

Then the exporter runs as a real process at ``--log.level debug`` (logfmt and JSON) behind
TLS and basic auth, and the canary, the basic-auth password, its bcrypt hash and the TLS
private key are looked for in: every log line, /metrics, the landing page, the other pages,
the answers to reloads of broken files that name the secret file and the environment
variable, ``--config.check`` and ``--once`` output; and, in this process, in the ``repr()``
and ``str()`` of the config objects and of every PollError, and in ConfigError messages.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import traceback
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import trustme
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from prometheus_harness import (
    ExporterProcess,
    environment,
    free_port,
    run_exporter_async,
    wait_until,
)
from provider_kit import every_api
from support import bcrypt_hash, by_account, logfmt, metric_value, write_tls_auth_web_config

from balance_exporter.config.checker import Config, ConfigError, load_config
from balance_exporter.config.secret import FRAGMENT, Secret
from balance_exporter.config.settings import settings_fields
from balance_exporter.config.webconfig import TLSConfig, WebConfig, load_web_config
from balance_exporter.demo import serve_app
from balance_exporter.polling.errors import PollError
from balance_exporter.polling.poll import poll
from balance_exporter.polling.transport import new_session
from balance_exporter.providers.base import adapter
from balance_exporter.providers.registry import BUILT_IN, PROVIDERS, describe_providers
from balance_exporter.simulator.providers import clickatell as clickatell_sim
from balance_exporter.simulator.providers import telecom23 as telecom23_sim
from balance_exporter.simulator.providers import telnyx as telnyx_sim
from balance_exporter.simulator.providers import twilio as twilio_sim

CANARY = "hyg1-CANARY-5Kq8Zm3xT7"
PASSWORD = "hyg1-PASSWORD-r8Lw2Vn"
WRONG_PASSWORD = "hyg1-WRONGPW-c3Jd7Ep"
USER = "scraper"
ENV_VAR = "HYGIENE_KEY"
SECRET_FILE = "secret-key"
TWILIO_TOKEN_FILE = "twilio-token"
TWILIO_SID = "AC" + "7e" * 16
TWILIO_KEY_SID = "SK" + "9a" * 16
BLANKED = "********"  # what balance_exporter.config.secret.redact puts in a secret's place
DEADLINE = 20.0  # seconds for a condition on the running exporter


@dataclass(frozen=True)
class Probe:
    """An account, where its key comes from, and how the fake provider echoes it back."""

    name: str
    provider: str
    settings: str  # the account's config lines after name and provider
    echo: str  # the fake provider's behaviour, the first part of the base_url path


PROBES: tuple[Probe, ...] = (
    Probe("telnyx-inline", "telnyx", f"api_key: {CANARY}", "echo"),
    Probe("telnyx-env-upper", "telnyx", f"api_key: ${{{ENV_VAR}}}", "upper"),
    Probe("telnyx-file-cut", "telnyx", f"api_key_file: {SECRET_FILE}", "cut"),
    Probe("telnyx-amount", "telnyx", f"api_key: ${{{ENV_VAR}}}", "garbled"),
    Probe(
        "twilio-token-file",
        "twilio",
        f"account_sid: {TWILIO_SID}\n    auth_token_file: {TWILIO_TOKEN_FILE}",
        "echo",
    ),
    Probe(
        "twilio-api-key",
        "twilio",
        f"account_sid: {TWILIO_SID}\n    api_key_sid: {TWILIO_KEY_SID}\n"
        f"    api_key_secret: ${{{ENV_VAR}}}",
        "rfc9457",
    ),
    Probe(
        "twilio-header",
        "twilio",
        f"account_sid: {TWILIO_SID}\n    auth_token: ${{{ENV_VAR}}}",
        "header",
    ),
    Probe("clickatell-rest", "clickatell", f"api_key: ${{{ENV_VAR}}}", "echo"),
    Probe(
        "clickatell-platform",
        "clickatell",
        f"api: platform\n    api_key_file: {SECRET_FILE}",
        "echo",
    ),
    Probe("youcom", "youcom", f"api_key: {CANARY}", "echo"),
    Probe("23telecom", "23telecom", f"api_key: ${{{ENV_VAR}}}", "echo"),
    Probe("23telecom-degraded", "23telecom", f"api_key_file: {SECRET_FILE}", "degraded"),
    Probe("23telecom-currency", "23telecom", f"api_key: {CANARY}", "garbled"),
)


def generic_probe(case_id: str) -> Probe:
    """An account of every registered provider API whose answer echoes everything it was sent,
    in the provider's own error shape; its secrets come from the environment."""
    provider, _, api = APIS[case_id]
    secrets = {
        spec.name for spec in settings_fields(BUILT_IN[provider].settings_type) if spec.secret
    }
    lines = [
        f"{key}: ${{{ENV_VAR}}}" if key in secrets else f"{key}: {value}"
        for key, value in api.config.items()
        if key != "base_url"  # the probe's own comes last
    ]
    return Probe(f"{case_id}-echo-all", provider, "\n    ".join(lines), f"generic/{case_id}")


APIS = every_api()
PROBES += tuple(generic_probe(case_id) for case_id in APIS)
NAMES = [probe.name for probe in PROBES]


DEGRADED = "23telecom-degraded"
# The fake quotes the whole Authorization header here: base64, not the canary's own letters.
QUOTED_HEADER = "twilio-header"
TWILIO_BASIC = base64.b64encode(f"{TWILIO_SID}:{CANARY}".encode()).decode()


# --- the secrets and where they might show ---------------------------------------------------


@dataclass(frozen=True)
class Secrets:
    """Every secret of a run, in the forms a leak would take."""

    hashed: str  # the bcrypt hash of PASSWORD in the web config
    key_pem: str  # the TLS private key

    def forms(self) -> list[str]:
        key_lines = self.key_pem.splitlines()[1:-1]  # the base64 body of the PEM block
        assert key_lines
        return [
            CANARY[:FRAGMENT],  # the canary, whole, cut short or case-folded
            PASSWORD[:FRAGMENT],
            WRONG_PASSWORD[:FRAGMENT],
            TWILIO_BASIC,
            self.hashed[7:],  # the hash, or its salt and digest without the $2b$04$ prefix
            *key_lines,
        ]

    def assert_absent(self, text: str, where: str) -> None:
        lowered = text.lower()
        found = [form for form in self.forms() if form.lower() in lowered]
        assert not found, f"{where} shows a secret ({found}):\n{text}"


def make_secrets(ca: trustme.CA, workdir: Path) -> Secrets:
    """The TLS files and the web config in workdir; the secrets they hold."""
    server = ca.issue_cert("127.0.0.1")
    server.cert_chain_pems[0].write_to_path(str(workdir / "server.pem"))
    server.private_key_pem.write_to_path(str(workdir / "server-key.pem"))
    hashed = bcrypt_hash(PASSWORD)
    write_tls_auth_web_config(workdir, USER, hashed)
    return Secrets(hashed, server.private_key_pem.bytes().decode())


def write_secret_files(workdir: Path) -> None:
    (workdir / SECRET_FILE).write_text(CANARY + "\n", encoding="utf-8")
    (workdir / TWILIO_TOKEN_FILE).write_text(CANARY + "\n", encoding="utf-8")
    (workdir / "secret.bin").write_bytes(CANARY.encode() + b"\xff\xfe\n")


def write_config(workdir: Path, provider_url: str) -> Path:
    write_secret_files(workdir)
    lines = ["global: {min_interval: 1s}", "defaults: {interval: 2s, timeout: 1s}", "accounts:"]
    for probe in PROBES:
        lines += [
            f"  - name: {probe.name}",
            f"    provider: {probe.provider}",
            f"    {probe.settings}",
            f"    base_url: {provider_url}/{probe.echo}",
        ]
    path = workdir / "exporter.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# Broken configs for reloads and --config.check: each problem involves the canary's places.
BROKEN_CONFIG = f"""\
accounts:
  - name: both
    provider: telnyx
    api_key: {CANARY}
    api_key_file: {SECRET_FILE}
  - name: unset
    provider: youcom
    api_key: ${{HYGIENE_UNSET}}
  - name: missing-file
    provider: clickatell
    api_key_file: no-such-secret
  - name: typo
    provider: twilio
    account_sid: {TWILIO_SID}
    auth_tokn: {CANARY}
  - name: binary
    provider: 23telecom
    api_key_file: secret.bin
  - name: sid
    provider: twilio
    account_sid: ${{{ENV_VAR}}}
    auth_token_file: {TWILIO_TOKEN_FILE}
"""
# A YAML error on the line holding the canary (an alias that does not exist).
BROKEN_YAML = f"accounts:\n  - name: alias\n    provider: telnyx\n    api_key: *{CANARY}\n"


def broken_problems(path: Path) -> list[str]:
    return [
        f"{path}: accounts[0] 'both': api_key: give api_key or api_key_file, not both",
        f"{path}: accounts[1] 'unset': api_key: environment variable HYGIENE_UNSET is not set",
        f"{path}: accounts[2] 'missing-file': api_key_file: cannot read no-such-secret: "
        "No such file or directory",
        f"{path}: accounts[3] 'typo': unknown key 'auth_tokn' (allowed: name, provider, "
        "interval, timeout, base_url, low_balance, account_sid, auth_token, api_key_sid, "
        "api_key_secret, region, edge, auth_token_file, api_key_secret_file)",
        f"{path}: accounts[3] 'typo': auth_token: is required (or api_key_sid + api_key_secret)",
        f"{path}: accounts[4] 'binary': api_key_file: secret.bin is not UTF-8 text",
        f"{path}: accounts[5] 'sid': account_sid: not a valid value (AC followed by 32 hex)",
    ]


def yaml_problem(path: Path) -> str:
    return f"{path}: invalid YAML: found undefined alias (not shown) (line 4)"


def web_problem(path: Path) -> str:
    """A password pasted where its hash belongs: the problem does not quote it."""
    return f"{path}: basic_auth_users: {USER}: must be a bcrypt hash (htpasswd -nBC 10 {USER})"


def write_broken(workdir: Path, text: str) -> Path:
    write_secret_files(workdir)
    path = workdir / "exporter.yml"
    path.write_text(text, encoding="utf-8")
    return path


# --- the echoing provider --------------------------------------------------------------------


def _bearer(request: web.Request) -> str:
    return request.headers.get("Authorization", "").removeprefix("Bearer ")


def _twilio_password(request: web.Request) -> str:
    encoded = request.headers.get("Authorization", "").removeprefix("Basic ")
    return base64.b64decode(encoded).decode().partition(":")[2]


async def telnyx(request: web.Request) -> web.Response:
    key, echo = _bearer(request), request.match_info["echo"]
    if echo == "garbled":  # a 200 whose amount is the key
        return web.json_response({"data": {"balance": key, "currency": "USD"}})
    detail = {
        "echo": f"The API key {key} is not valid.",
        "upper": f"API KEY {key.upper()} REJECTED",
        "cut": f"The API key '{key[:10]}…' is not valid.",
    }[echo]
    return telnyx_sim.error(401, key if echo == "echo" else "10009", "Auth failed", detail)


async def twilio(request: web.Request) -> web.Response:
    echo = request.match_info["echo"]
    token = _twilio_password(request)
    if echo == "rfc9457":
        body = {
            "type": "https://www.twilio.com/docs/errors/20003",
            "title": "Authenticate",
            "status": 401,
            "code": 20003,
            "detail": f"API key secret {token} does not match",
        }
        return web.json_response(body, status=401)
    if echo == "header":
        header = request.headers.get("Authorization", "")
        return twilio_sim.error(401, 20003, f"Authorization '{header}' is not valid")
    return twilio_sim.error(401, 20003, f"Authenticate: auth token {token} is not valid")


async def clickatell(request: web.Request) -> web.Response:
    return clickatell_sim.error(401, "001", f"Authentication failed for token {_bearer(request)}")


async def clickatell_platform(request: web.Request) -> web.Response:
    key = request.headers.get("Authorization", "")
    return clickatell_sim.error(401, 1, f"Invalid API key {key}")


async def youcom(request: web.Request) -> web.Response:
    key = request.headers.get("X-API-Key", "")
    return web.json_response({"detail": f"Invalid API key: {key}"}, status=401)


async def telecom23(request: web.Request) -> web.Response:
    key, echo = request.headers.get("X-API-Key", ""), request.match_info["echo"]
    if echo == "degraded":
        headers = {"X-Sms-Gateway-Status": "partial", "X-Sms-Gateway-Reason": f"rebuild {key}"}
        return web.json_response({"balance": 0, "currency": "EUR"}, headers=headers)
    if echo == "garbled":  # a 200 whose currency is the key
        return web.json_response({"balance": "1.00", "currency": key})
    return telecom23_sim.error(401, "INVALID_API_KEY", f"API key {key} is not valid")


async def echo_all(request: web.Request) -> web.Response:
    """Whatever a request carried (headers, query string), quoted back in an error body."""
    api = APIS[request.match_info["case"]][2]
    sent = " ".join([*request.headers.values(), request.query_string])
    return web.json_response(api.error(f"rejected: {sent}"), status=401)


def echoing_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/generic/{case}/{tail:.*}", echo_all)
    app.router.add_get("/{echo}/v2/balance", telnyx)
    app.router.add_get("/{echo}/2010-04-01/Accounts/{sid}/Balance.json", twilio)
    app.router.add_get("/{echo}/rest/account/balance", clickatell)
    app.router.add_get("/{echo}/public-client/balance", clickatell_platform)
    app.router.add_get("/{echo}/v1/billing/account_balance", youcom)
    app.router.add_get("/{echo}/api/v1/user/balance", telecom23)
    return app


@pytest.fixture
async def provider_url() -> AsyncIterator[str]:
    served = await serve_app(echoing_app())
    yield served.url
    await served.stop()


# --- the exporter as a process ---------------------------------------------------------------


def log_records(stderr: str, log_format: str) -> list[dict[str, Any]]:
    """Every line the exporter logged, as fields; each line must be in the format asked for."""
    records: list[dict[str, Any]] = []
    for line in stderr.splitlines():
        if log_format == "json":
            record = json.loads(line)
            assert isinstance(record, dict), line
        else:
            assert re.match(r"ts=\S+ level=\w+ source=\S+ msg=", line), line
            record = logfmt(line)
        records.append(record)
    return records


class Client:
    """HTTPS with the test CA and, unless told otherwise, the basic-auth credentials."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base
        self.answers: list[tuple[str, str]] = []  # (request, body) of every request made

    async def request(
        self, method: str, path: str, password: str | None = PASSWORD
    ) -> tuple[int, str]:
        headers = {}
        if password is not None:
            headers["Authorization"] = aiohttp.encode_basic_auth(USER, password)
        async with self.session.request(method, self.base + path, headers=headers) as response:
            body = await response.text()
        self.answers.append((f"{method} {path} with password {password}", body))
        return response.status, body


def client_session(ca: trustme.CA) -> aiohttp.ClientSession:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))


@pytest.mark.parametrize("log_format", ["logfmt", "json"])
async def test_no_secret_in_logs_pages_or_reload_errors(
    tmp_path: Path, provider_url: str, log_format: str
) -> None:
    ca = trustme.CA()
    secrets = make_secrets(ca, tmp_path)
    config = write_config(tmp_path, provider_url)
    address = f"127.0.0.1:{free_port()}"
    exporter = ExporterProcess(
        "--config.file",
        str(config),
        "--web.config.file",
        str(tmp_path / "web.yml"),
        "--web.listen-address",
        address,
        "--web.enable-lifecycle",
        "--log.level",
        "debug",
        "--log.format",
        log_format,
        cwd=tmp_path,
        env=environment(**{ENV_VAR: CANARY}),
    )
    async with exporter, client_session(ca) as session:
        client = Client(session, f"https://{address}")
        await exercise(client, exporter, tmp_path, provider_url)
    assert exporter.returncode == 0

    assert len(client.answers) >= 10
    for where, text in client.answers:
        secrets.assert_absent(text, f"the answer to {where}")
    secrets.assert_absent(exporter.stdout, "stdout")
    secrets.assert_absent(exporter.stderr, "the log")
    assert "Traceback" not in exporter.stderr
    check_log(log_records(exporter.stderr, log_format), tmp_path)


async def exercise(
    client: Client, exporter: ExporterProcess, workdir: Path, provider_url: str
) -> None:
    """Every page, after every account's first poll; then reloads of broken files."""
    exposition = ""

    async def every_account_polled() -> bool:
        nonlocal exposition
        try:
            status, exposition = await client.request("GET", "/metrics")
        except aiohttp.ClientConnectionError:
            return False
        assert status == 200
        # Parsed once per look: this loop also serves the echoing provider, which must not wait.
        polls = by_account(exposition, "billing_polls_total")
        return all(polls.get(name, 0) >= 1 for name in NAMES)

    await wait_until(every_account_polled, "every account's first poll on /metrics", DEADLINE)
    up = by_account(exposition, "billing_up")
    for name in NAMES:
        assert up[name] == (1.0 if name == DEGRADED else 0.0), name
    assert metric_value(exposition, "billing_degraded", account=DEGRADED) == 1.0

    status, page = await client.request("GET", "/")
    assert status == 200
    assert all(f"<td>{name}</td>" in page for name in NAMES)
    rows = {name: row for row in page.split("<tr>") for name in NAMES if f"<td>{name}</td>" in row}
    unblanked = sorted(name for name in NAMES if name != DEGRADED and BLANKED not in rows[name])
    assert unblanked == [], "echoes not blanked on the page:\n" + "\n".join(
        rows[name] for name in unblanked
    )
    assert await client.request("GET", "/-/healthy") == (200, "Healthy\n")
    assert await client.request("GET", "/-/ready") == (200, "Ready\n")
    assert await client.request("GET", "/metrics", password=None) == (401, "Unauthorized\n")
    assert await client.request("GET", "/", password=WRONG_PASSWORD) == (401, "Unauthorized\n")

    # A reload of a config whose problems name the secret file and the environment variable.
    broken = write_broken(workdir, BROKEN_CONFIG)
    status, text = await client.request("POST", "/-/reload")
    assert (status, text.splitlines()) == (
        500,
        ["failed to reload config:", *broken_problems(broken)],
    )
    write_broken(workdir, BROKEN_YAML)
    status, text = await client.request("POST", "/-/reload")
    assert (status, text) == (500, f"failed to reload config:\n{yaml_problem(broken)}\n")
    # A web config with the password pasted where its hash belongs.
    write_config(workdir, provider_url)
    write_tls_auth_web_config(workdir, USER, PASSWORD)
    status, text = await client.request("POST", "/-/reload")
    assert (status, text) == (
        500,
        f"failed to reload config:\n{web_problem(workdir / 'web.yml')}\n",
    )

    async def reload_failure_shown() -> bool:  # the reload answers before /metrics shows it
        status, exposition = await client.request("GET", "/metrics")  # the old web config
        assert status == 200
        return metric_value(exposition, "billing_exporter_config_last_reload_successful") == 0.0

    await wait_until(reload_failure_shown, "the failed reload on /metrics", 10.0)


def check_log(records: Sequence[dict[str, Any]], workdir: Path) -> None:
    """The echoes reached the log blanked out: the fake really echoed, the exporter redacted."""
    failures = {r["account"]: r for r in records if r["msg"] == "poll failed"}
    assert set(failures) == set(NAMES) - {DEGRADED}
    for name, record in failures.items():
        if name == QUOTED_HEADER:
            quoted = f"Authorization 'Basic {BLANKED}' is not valid"
            assert record["error"] == f"HTTP 401, twilio code 20003: {quoted}"
        assert BLANKED in record["error"], record
    assert failures["telnyx-inline"]["code"] == BLANKED  # the key came back as the error code
    reasons = {r["degraded_reason"] for r in records if r.get("account") == DEGRADED}
    assert reasons == {f"rebuild {BLANKED}"}
    problems = [r["problem"] for r in records if r["msg"].startswith("config reload failed")]
    assert problems == [
        *broken_problems(workdir / "exporter.yml"),
        yaml_problem(workdir / "exporter.yml"),
        web_problem(workdir / "web.yml"),
    ]
    levels = {r["level"] for r in records}
    assert "debug" in levels  # the run logged at debug level


# --- command-line checks ---------------------------------------------------------------------


async def run_cli(workdir: Path, *args: str) -> tuple[int, str, str]:
    return await run_exporter_async(*args, cwd=workdir, env=environment(**{ENV_VAR: CANARY}))


async def test_config_check_shows_no_secret(tmp_path: Path) -> None:
    secrets = make_secrets(trustme.CA(), tmp_path)
    config = write_config(tmp_path, "http://127.0.0.1:9")
    check = ("--config.file", str(config), "--web.config.file", "web.yml", "--config.check")

    code, out, err = await run_cli(tmp_path, *check)
    assert (code, err) == (0, ""), err
    assert out.splitlines() == [
        f"{config}: OK, {len(PROBES)} account(s)",
        *(
            f"  {name}: {probe.provider} every 2s"
            for name, probe in zip(NAMES, PROBES, strict=True)
        ),
        f"providers: {describe_providers(BUILT_IN)}",
        "web.yml: OK, TLS TLS12-TLS13, client certificates: NoClientCert; basic auth for 1 user(s)",
    ]
    secrets.assert_absent(out + err, "--config.check output")

    broken = write_broken(tmp_path, BROKEN_CONFIG)
    code, out, err = await run_cli(tmp_path, *check)
    assert (code, out, err.splitlines()) == (2, "", broken_problems(broken))
    secrets.assert_absent(out + err, "--config.check output for a broken config")

    write_broken(tmp_path, BROKEN_YAML)
    code, out, err = await run_cli(tmp_path, *check)
    assert (code, out) == (2, "")
    assert err == yaml_problem(broken) + "\n"

    write_config(tmp_path, "http://127.0.0.1:9")
    write_tls_auth_web_config(tmp_path, USER, PASSWORD)
    code, out, err = await run_cli(tmp_path, *check)
    assert (code, out) == (2, "")
    assert err == web_problem(Path("web.yml")) + "\n"
    secrets.assert_absent(out + err, "--config.check output for a broken web config")


async def test_once_shows_no_secret(tmp_path: Path, provider_url: str) -> None:
    secrets = make_secrets(trustme.CA(), tmp_path)
    config = write_config(tmp_path, provider_url)
    code, out, err = await run_cli(
        tmp_path, "--config.file", str(config), "--once", "--log.level", "debug"
    )
    assert code == 1  # every account but the degraded one failed
    assert {
        sample.labels["account"]
        for family in text_string_to_metric_families(out)
        for sample in family.samples
        if sample.name == "billing_up"
    } == set(NAMES)
    secrets.assert_absent(out, "--once output")
    secrets.assert_absent(err, "--once log")
    assert err.count(BLANKED) >= len(NAMES) - 1  # the echoes were there, blanked out


# --- in this process ---------------------------------------------------------------------------


def loaded(workdir: Path, provider_url: str) -> tuple[Config, WebConfig, Secrets]:
    secrets = make_secrets(trustme.CA(), workdir)
    config = load_config(write_config(workdir, provider_url), {ENV_VAR: CANARY})
    web_config = load_web_config(workdir / "web.yml")
    # The objects really hold the secrets the checks look for.
    for account in config.accounts:
        values = {secret.reveal() for secret in account.secrets.values()}
        assert values == {CANARY}, account.name
    assert web_config.users[USER].reveal() == secrets.hashed
    return config, web_config, secrets


def shown(value: object) -> str:
    """Every way a value is commonly turned into text."""
    return "\n".join((repr(value), str(value), f"{value}", f"{value!r}", format(value)))


def test_config_objects_show_no_secret(tmp_path: Path) -> None:
    config, web_config, secrets = loaded(tmp_path, "http://127.0.0.1:9")
    assert web_config.tls is not None
    objects: list[tuple[str, object]] = [
        ("Config", config),
        ("WebConfig", web_config),
        ("TLSConfig", web_config.tls),
        ("users", web_config.users),
        ("Secret", Secret(CANARY)),
        ("hash Secret", web_config.users[USER]),
        *((f"AccountConfig {a.name}", a) for a in config.accounts),
        *((f"secrets of {a.name}", a.secrets) for a in config.accounts),
    ]
    for what, value in objects:
        secrets.assert_absent(shown(value), what)
    assert repr(Secret(CANARY)) == str(Secret(CANARY)) == "Secret('********')"
    assert isinstance(web_config.tls, TLSConfig)


async def test_poll_errors_show_no_secret(tmp_path: Path, provider_url: str) -> None:
    config, _, secrets = loaded(tmp_path, provider_url)
    failures: dict[str, PollError] = {}
    async with new_session() as session:
        for account in config.accounts:
            provider = adapter(account, PROVIDERS)
            try:
                reading = await poll(provider, session, 0.0)
            except PollError as error:
                failures[account.name] = error
                continue
            assert account.name == DEGRADED
            assert reading.degraded_reason == f"rebuild {BLANKED}"
            secrets.assert_absent(shown(reading), "a degraded reading")

    assert set(failures) == set(NAMES) - {DEGRADED}
    for name, outcome in failures.items():
        text = "\n".join(
            [
                shown(outcome),
                shown(outcome.args),
                outcome.message,
                str(outcome.code),
                *traceback.format_exception(outcome),
            ]
        )
        secrets.assert_absent(text, f"the PollError of {name}")
        assert BLANKED in outcome.message, (name, outcome.message)  # the echo was there
    assert failures["telnyx-inline"].code == BLANKED


def test_config_errors_show_no_secret(tmp_path: Path) -> None:
    secrets = make_secrets(trustme.CA(), tmp_path)
    environ = {ENV_VAR: CANARY}
    broken = write_broken(tmp_path, BROKEN_CONFIG)
    yaml_file = tmp_path / "yaml.yml"
    yaml_file.write_text(BROKEN_YAML, encoding="utf-8")
    write_tls_auth_web_config(tmp_path, USER, PASSWORD)
    web = tmp_path / "web.yml"
    errors: list[tuple[Callable[[], object], list[str]]] = [
        (lambda: load_config(broken, environ), broken_problems(broken)),
        (lambda: load_config(yaml_file, environ), [yaml_problem(yaml_file)]),
        (lambda: load_web_config(web), [web_problem(web)]),
    ]
    for load, expected in errors:
        with pytest.raises(ConfigError) as raised:
            load()
        assert raised.value.problems == expected
        text = "\n".join([shown(raised.value), *traceback.format_exception(raised.value)])
        secrets.assert_absent(text, "a ConfigError")
