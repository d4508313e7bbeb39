"""The command line, run as a real process: exit codes, --once, serving, reloads, signals, logs.

Provider APIs are faked by an aiohttp server on 127.0.0.1 in the test's event loop; the
exporter process reaches it through each account's base_url. The fake echoes any key it
refuses back in its error text, so the canary checks catch a secret leaking from there too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import re
import shutil
import signal
import socket
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from prometheus_harness import (
    ExporterProcess,
    environment,
    free_port,
    run_exporter,
    run_exporter_async,
    wait_until,
)
from support import accounts_in, logfmt, metric_value

from balance_exporter import __version__
from balance_exporter.cli import build_parser, parse_args
from balance_exporter.demo import serve_app
from balance_exporter.providers.registry import BUILT_IN, describe_providers

CONFIGS = Path(__file__).parent / "configs"
CANARY = "CANARY"
TELNYX_KEY = "CANARY-cli-telnyx-3a9f1e"
TELNYX_WRONG_KEY = "CANARY-cli-telnyx-wrong-c07d"
YOUCOM_KEY = "CANARY-cli-youcom-71c2"
YOUCOM_WRONG_KEY = "CANARY-cli-youcom-wrong-0d5e"
TELECOM_KEY = "CANARY-cli-23telecom-b816"
TELECOM_UPDATED = 1770977700.0  # "2026.02.13 10:15:00" read as UTC
PROCESS_DEADLINE = 30.0
WAIT_DEADLINE = 15.0  # for one change to show while the exporter serves


# --- helpers ---------------------------------------------------------------------------------


# --- the fake providers ------------------------------------------------------------------------


class FakeProviders:
    """Telnyx, You.com and 23 Telecom balance endpoints with a known good key each."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.url = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v2/balance", self.telnyx)
        app.router.add_get("/v1/billing/account_balance", self.youcom)
        app.router.add_get("/api/v1/user/balance", self.telecom23)
        return app

    async def telnyx(self, request: web.Request) -> web.Response:
        self.requests.append("telnyx")
        presented = request.headers.get("Authorization", "")
        if presented != f"Bearer {TELNYX_KEY}":
            error = {
                "code": "10009",
                "title": "Authentication failed",
                "detail": f"The API key {presented.removeprefix('Bearer ')} is not valid.",
            }
            return web.json_response({"errors": [error]}, status=401)
        return web.json_response(
            {
                "data": {
                    "record_type": "balance",
                    "balance": "300.50",
                    "credit_limit": "100.00",
                    "pending": "10.00",
                    "available_credit": "390.50",
                    "currency": "USD",
                }
            }
        )

    async def youcom(self, request: web.Request) -> web.Response:
        self.requests.append("youcom")
        presented = request.headers.get("X-API-Key", "")
        if presented != YOUCOM_KEY:
            return web.json_response({"detail": f"Invalid API key: {presented}"}, status=401)
        return web.json_response(
            {
                "data": {
                    "type": "account_balance",
                    "id": "org_123",
                    "attributes": {"balance": 718924.5},
                }
            }
        )

    async def telecom23(self, request: web.Request) -> web.Response:
        self.requests.append("23telecom")
        if request.headers.get("X-API-Key") != TELECOM_KEY:
            body = {"status": False, "error_code": "UNAUTHORIZED", "description": "Bad key"}
            return web.json_response(body, status=401)
        return web.json_response(
            {"balance": 42.1, "currency": "EUR", "updated": "2026.02.13 10:15:00"}
        )


@pytest.fixture
async def providers() -> AsyncIterator[FakeProviders]:
    fake = FakeProviders()
    served = await serve_app(fake.app())
    fake.url = served.url
    yield fake
    await served.stop()


def _account(name: str, provider: str, key_variable: str, url: str, extra: str = "") -> str:
    return (
        f"  - name: {name}\n"
        f"    provider: {provider}\n"
        f"    api_key: ${{{key_variable}}}\n"
        f"    base_url: {url}\n"
        f"{extra}"
    )


KEYS = {
    "TELNYX_KEY": TELNYX_KEY,
    "TELNYX_WRONG_KEY": TELNYX_WRONG_KEY,
    "YOUCOM_KEY": YOUCOM_KEY,
    "YOUCOM_WRONG_KEY": YOUCOM_WRONG_KEY,
    "TELECOM_KEY": TELECOM_KEY,
}


# --- short runs ----------------------------------------------------------------------------


def test_version(tmp_path: Path) -> None:
    result = run_exporter("--version", cwd=tmp_path)

    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        f"balance-exporter, version {__version__}",
        f"  python: {platform.python_version()}",
        f"  platform: {platform.system().lower()}/{platform.machine()}",
    ]
    assert re.fullmatch(r"  platform: [a-z]+/\w+", result.stdout.splitlines()[2])


def _shown(default: object) -> str:
    """A default as --help writes it: 10 for 10.0, a list's items by commas."""
    if isinstance(default, list):
        return ", ".join(default)
    return f"{default:g}" if isinstance(default, float) else str(default)


def test_help_explains_every_flag_and_shows_its_default(tmp_path: Path) -> None:
    result = run_exporter("--help", cwd=tmp_path)

    assert (result.returncode, result.stderr) == (0, "")
    # One entry per flag: its option line, then its help, joined as argparse wraps them.
    text = " ".join(result.stdout.split())
    for action in build_parser()._actions:
        if not action.option_strings:
            continue
        flag = action.option_strings[-1]
        assert action.help, f"{flag} has no help text"
        entry = text.split(f" {flag}", 1)[1].split(" --", 1)[0]
        default = action.default
        if default in (None, False, argparse.SUPPRESS):
            continue  # off unless given, or a default the help text itself describes
        assert f"(default: {_shown(default)})" in entry, f"{flag}: {entry}"
    assert "default: None" not in text
    assert "default: False" not in text
    assert "(default: :9877)" in text
    assert "(default: info)" in text


def test_listen_addresses_accumulate_and_none_replaces_the_default() -> None:
    assert parse_args([]).listen == [":9877"]
    args = parse_args(["--web.listen-address=127.0.0.1:1", "--web.listen-address", "[::1]:2"])
    assert [(a.text, a.host, a.port) for a in args.addresses] == [
        ("127.0.0.1:1", "127.0.0.1", 1),
        ("[::1]:2", "::1", 2),
    ]
    assert [a.url_host for a in args.addresses] == ["127.0.0.1", "[::1]"]


def test_bad_config_exits_2_with_one_line_per_problem(tmp_path: Path) -> None:
    config = CONFIGS / "bad" / "many_problems.yml"

    result = run_exporter("--config.file", str(config), cwd=tmp_path)

    assert result.returncode == 2
    assert result.stdout == ""
    expected = config.with_suffix(".expected").read_text(encoding="utf-8")
    assert result.stderr == expected.replace("{file}", str(config))
    assert "Traceback" not in result.stderr
    assert CANARY not in result.stderr


def test_bad_config_with_config_check_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "c.yml"
    config.write_text("accounts:\n  - name: a\n    provider: telnix\n", encoding="utf-8")

    result = run_exporter("--config.check", "--config.file", str(config), cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr == (
        f"{config}: accounts[0] 'a': provider: unknown provider 'telnix' "
        f"(known: {', '.join(sorted(BUILT_IN))})\n"
    )


def test_missing_config_file_is_one_line(tmp_path: Path) -> None:
    # The default file name, in a directory that does not hold it.
    result = run_exporter(cwd=tmp_path)

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "balance-exporter.yml: cannot read: No such file or directory\n"


def test_config_check_on_a_good_config(tmp_path: Path) -> None:
    config = CONFIGS / "good" / "defaults.yml"

    result = run_exporter("--config.check", "--config.file", str(config), cwd=tmp_path)

    assert result.returncode == 0
    assert result.stdout == (
        f"{config}: OK, 3 account(s)\n"
        "  inherits: telnyx every 10m\n"
        "  own-interval: youcom every 1h30m\n"
        "  own-timeout: 23telecom every 10m\n"
        f"providers: {describe_providers(BUILT_IN)}\n"
    )
    assert result.stderr == ""


def test_config_check_warns_about_a_raised_interval(tmp_path: Path) -> None:
    config = CONFIGS / "good" / "interval_floor.yml"

    result = run_exporter("--config.check", "--config.file", str(config), cwd=tmp_path)

    assert result.returncode == 0
    warnings = result.stderr.splitlines()
    assert len(warnings) == 2
    for line in warnings:
        fields = logfmt(line)
        assert fields["level"] == "warn"
        assert "is below the 1m floor, raised to it" in fields["msg"]
    assert CANARY not in result.stderr


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        (
            ["--web.listen-address", "nohost"],
            "--web.listen-address: 'nohost' is not HOST:PORT",
        ),
        (
            ["--web.listen-address", "127.0.0.1:70000"],
            "--web.listen-address: '127.0.0.1:70000' is not HOST:PORT",
        ),
        (
            ["--web.listen-address", "127.0.0.1:9", "--web.listen-address", "127.0.0.1:70000"],
            "--web.listen-address: '127.0.0.1:70000' is not HOST:PORT",
        ),
        (
            ["--web.listen-address", "[::1]:9", "--web.listen-address", "[::1]:9"],
            "--web.listen-address: '[::1]:9' is given twice",
        ),
        (["--web.telemetry-path", "metrics"], "--web.telemetry-path must start with /"),
        (
            ["--log.level", "verbose"],
            "argument --log.level: invalid choice: 'verbose' "
            "(choose from debug, info, warn, error)",
        ),
    ],
)
def test_bad_flags_exit_2(tmp_path: Path, flag: list[str], message: str) -> None:
    result = run_exporter(*flag, cwd=tmp_path)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.replace("'debug', 'info', 'warn', 'error'", "debug, info, warn, error") == (
        f"balance-exporter: error: {message}"
    )


@pytest.mark.parametrize("free_before", [False, True], ids=["alone", "after-a-free-one"])
def test_listen_address_in_use_is_one_line(tmp_path: Path, free_before: bool) -> None:
    config = tmp_path / "c.yml"
    config.write_text(
        f"accounts:\n  - name: a\n    provider: telnyx\n    api_key: {TELNYX_KEY}\n",
        encoding="utf-8",
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        flags = ["--web.listen-address", address]
        if free_before:  # bound first, then let go when the taken one fails
            flags = ["--web.listen-address", f"127.0.0.1:{free_port()}", *flags]

        result = run_exporter("--config.file", str(config), *flags, cwd=tmp_path)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    fields = logfmt(line)
    assert (fields["level"], fields["msg"], fields["address"]) == (
        "error",
        "cannot listen",
        address,
    )
    assert "in use" in fields["error"]
    assert CANARY not in result.stderr


# --- --once --------------------------------------------------------------------------------


async def _run_once(
    tmp_path: Path, url: str, youcom_key_variable: str, *flags: str, with_failing_telnyx: bool
) -> tuple[int, str, str]:
    """``--once`` over sms-eu, search and, if asked, sms-bad: exit code, stdout, stderr.

    Run without blocking the loop, which serves the fake providers the exporter polls.
    """
    config = tmp_path / "c.yml"
    text = "accounts:\n" + _account("sms-eu", "telnyx", "TELNYX_KEY", url)
    text += _account("search", "youcom", youcom_key_variable, url)
    if with_failing_telnyx:
        text += _account("sms-bad", "telnyx", "TELNYX_WRONG_KEY", url)
    config.write_text(text, encoding="utf-8")
    return await run_exporter_async(
        "--once", "--config.file", str(config), *flags, cwd=tmp_path, env=environment(**KEYS)
    )


async def test_once_prints_the_exposition_and_exits_1_when_an_account_fails(
    tmp_path: Path, providers: FakeProviders
) -> None:
    code, out, err = await _run_once(
        tmp_path,
        providers.url,
        "YOUCOM_WRONG_KEY",
        "--log.level",
        "debug",
        with_failing_telnyx=True,
    )

    assert code == 1, err
    assert sorted(providers.requests) == ["telnyx", "telnyx", "youcom"]
    ok = {"provider": "telnyx", "account": "sms-eu", "currency": "USD"}
    assert metric_value(out, "billing_balance", **ok) == 300.5
    assert metric_value(out, "billing_credit_limit", **ok) == 100.0
    assert metric_value(out, "billing_pending", **ok) == 10.0
    assert metric_value(out, "billing_available_credit", **ok) == 390.5
    assert metric_value(out, "billing_up", account="sms-eu") == 1.0
    assert metric_value(out, "billing_polls_total", account="sms-eu") == 1.0

    for failing, provider in (("search", "youcom"), ("sms-bad", "telnyx")):
        assert metric_value(out, "billing_up", account=failing, provider=provider) == 0.0
        assert metric_value(out, "billing_balance", account=failing) is None
        assert (
            metric_value(out, "billing_poll_failures_total", account=failing, reason="auth") == 1.0
        )
        assert (
            metric_value(out, "billing_poll_failures_total", account=failing, reason="timeout")
            == 0.0
        )
    assert metric_value(out, "billing_exporter_config_last_reload_successful") == 1.0
    assert CANARY not in out

    # One log line per failed poll, with account, provider, reason, status and code.
    failures = [logfmt(line) for line in err.splitlines() if 'msg="poll failed"' in line]
    by_account = {fields["account"]: fields for fields in failures}
    assert len(failures) == 2
    assert by_account.keys() == {"search", "sms-bad"}
    search, bad = by_account["search"], by_account["sms-bad"]
    assert (search["level"], search["provider"], search["reason"], search["status"]) == (
        "warn",
        "youcom",
        "auth",
        "401",
    )
    assert "code" not in search  # You.com gives no error code of its own
    assert (bad["provider"], bad["reason"], bad["status"], bad["code"]) == (
        "telnyx",
        "auth",
        "401",
        "10009",
    )
    assert bad["error"] == "HTTP 401, telnyx code 10009: The API key ******** is not valid."
    assert search["error"] == "HTTP 401: Invalid API key: ********"
    assert "Traceback" not in err
    assert CANARY not in err


async def test_once_exits_0_when_every_account_succeeds(
    tmp_path: Path, providers: FakeProviders
) -> None:
    code, out, err = await _run_once(
        tmp_path, providers.url, "YOUCOM_KEY", with_failing_telnyx=False
    )

    assert code == 0, err
    assert err == ""  # info level: nothing to say when all is well
    assert metric_value(out, "billing_balance", account="sms-eu", currency="USD") == 300.5
    assert metric_value(out, "billing_balance", account="search", currency="USD") == 7189.245
    assert (
        metric_value(out, "billing_account_info", account="search", provider_account_id="org_123")
        == 1.0
    )
    assert metric_value(out, "billing_up", account="search") == 1.0
    assert accounts_in(out) == {"sms-eu", "search"}
    promtool = shutil.which("promtool")
    if promtool is not None:
        check = await asyncio.create_subprocess_exec(
            promtool,
            "check",
            "metrics",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        report, _ = await asyncio.wait_for(check.communicate(out.encode()), PROCESS_DEADLINE)
        assert (check.returncode, report.decode()) == (0, "")


async def test_once_exits_1_for_a_single_failing_account(
    tmp_path: Path, providers: FakeProviders
) -> None:
    code, out, err = await _run_once(
        tmp_path, providers.url, "YOUCOM_WRONG_KEY", with_failing_telnyx=False
    )

    assert code == 1
    assert metric_value(out, "billing_balance", account="sms-eu", currency="USD") == 300.5
    assert metric_value(out, "billing_up", account="sms-eu") == 1.0
    assert metric_value(out, "billing_up", account="search") == 0.0
    assert metric_value(out, "billing_balance", account="search") is None
    [line] = err.splitlines()
    fields = logfmt(line)
    assert {k: fields[k] for k in ("msg", "account", "provider", "reason", "status")} == {
        "msg": "poll failed",
        "account": "search",
        "provider": "youcom",
        "reason": "auth",
        "status": "401",
    }
    assert CANARY not in out + err


async def test_once_json_logs(tmp_path: Path, providers: FakeProviders) -> None:
    code, _, err = await _run_once(
        tmp_path,
        providers.url,
        "YOUCOM_WRONG_KEY",
        "--log.format",
        "json",
        "--log.level",
        "debug",
        with_failing_telnyx=True,
    )

    assert code == 1
    lines = [json.loads(line) for line in err.splitlines()]
    assert lines
    assert all(isinstance(line, dict) and {"ts", "level", "msg"} <= line.keys() for line in lines)
    failures = {line["account"]: line for line in lines if line["msg"] == "poll failed"}
    assert failures.keys() == {"search", "sms-bad"}
    assert {k: failures["sms-bad"][k] for k in ("provider", "reason", "status", "code")} == {
        "provider": "telnyx",
        "reason": "auth",
        "status": 401,
        "code": "10009",
    }
    ok = [line for line in lines if line["msg"] == "poll ok"]
    assert [(line["account"], line["balance"], line["currency"]) for line in ok] == [
        ("sms-eu", "300.50", "USD")
    ]
    assert CANARY not in err


# --- serving -------------------------------------------------------------------------------


class RunningExporter(ExporterProcess):
    """The exporter serving on ``address``, asked over HTTP and signalled while it runs."""

    def __init__(self, *args: str, address: str, cwd: Path, env: Mapping[str, str]) -> None:
        super().__init__(*args, "--web.listen-address", address, cwd=cwd, env=env)
        self.base = f"http://{address}"

    async def get(self, session: aiohttp.ClientSession, path: str) -> tuple[int, str]:
        self.check_running()  # an exporter that died fails the wait at once, with its log
        try:
            async with session.get(self.base + path) as response:
                return response.status, await response.text()
        except aiohttp.ClientConnectionError:
            return 0, ""

    async def metrics(self, session: aiohttp.ClientSession) -> str:
        status, text = await self.get(session, "/metrics")
        assert status == 200
        assert CANARY not in text
        return text

    async def wait_metrics(
        self, session: aiohttp.ClientSession, condition: Callable[[str], bool], what: str
    ) -> str:
        """The first /metrics body that meets ``condition``."""
        latest = ""

        async def met() -> bool:
            nonlocal latest
            latest = await self.metrics(session)
            return condition(latest)

        await wait_until(met, what, WAIT_DEADLINE)
        return latest


def _write_serving_config(path: Path, accounts: list[str]) -> None:
    """A config fast enough for a test: the floor lowered, 2 s intervals."""
    path.write_text(
        "global:\n  min_interval: 1s\n"
        "defaults:\n  interval: 2s\n  timeout: 1s\n"
        "accounts:\n" + "".join(accounts),
        encoding="utf-8",
    )


async def test_serving_reloads_and_stops(tmp_path: Path, providers: FakeProviders) -> None:
    url = providers.url
    config = tmp_path / "exporter.yml"
    _write_serving_config(
        config,
        [
            _account("sms-eu", "telnyx", "TELNYX_KEY", url),
            _account("search", "youcom", "YOUCOM_WRONG_KEY", url),
        ],
    )
    exporter = RunningExporter(
        "--config.file",
        str(config),
        "--log.level",
        "debug",
        "--web.enable-lifecycle",
        address=f"127.0.0.1:{free_port()}",
        cwd=tmp_path,
        env=environment(**KEYS),
    )
    async with exporter:
        async with aiohttp.ClientSession() as session:
            await _serve_and_reload(exporter, session, config, url)
        assert await exporter.stop() == 0  # SIGTERM: a clean stop

    assert "Traceback" not in exporter.stderr
    assert CANARY not in exporter.stderr
    lines = exporter.stderr.splitlines()
    for line in lines:
        assert re.match(r"ts=\S+ level=(debug|info|warn|error) source=\S+ ", line), line
    messages = [logfmt(line)["msg"] for line in lines]
    assert messages.count("listening") == 1
    assert messages.count("config reloaded") == 1
    assert messages[-1] == "shutting down"


async def _serve_and_reload(
    exporter: RunningExporter, session: aiohttp.ClientSession, config: Path, url: str
) -> None:
    async def ready() -> bool:
        return (await exporter.get(session, "/-/ready")) == (200, "Ready\n")

    await wait_until(ready, "/-/ready to answer 200", WAIT_DEADLINE)

    assert await exporter.get(session, "/-/healthy") == (200, "Healthy\n")
    status, page = await exporter.get(session, "/")
    assert status == 200
    assert '<a href="/metrics">' in page
    assert "<td>sms-eu</td>" in page
    assert "<td>search</td>" in page
    assert "300.50 USD" in page
    assert CANARY not in page

    # /metrics serves the latest finished rendering: wait for the one showing both first polls.
    text = await exporter.wait_metrics(
        session,
        lambda text: (
            metric_value(text, "billing_up", account="search") is not None
            and metric_value(text, "billing_up", account="sms-eu") is not None
        ),
        "both first polls on /metrics",
    )
    assert metric_value(text, "billing_balance", account="sms-eu", currency="USD") == 300.5
    assert metric_value(text, "billing_up", account="sms-eu") == 1.0
    assert metric_value(text, "billing_up", account="search") == 0.0
    assert metric_value(text, "billing_poll_interval_seconds", account="sms-eu") == 2.0
    assert metric_value(text, "billing_exporter_config_last_reload_successful") == 1.0
    assert accounts_in(text) == {"sms-eu", "search"}

    # SIGHUP with a broken file: the old accounts keep being served and polled.
    _write_serving_config(config, [_account("sms-eu", "telnyx", "TELNYX_KEY", url + "?x=1")])
    problem = f"{config}: accounts[0] 'sms-eu': base_url: must not have a query or fragment"
    exporter.send_signal(signal.SIGHUP)

    text = await exporter.wait_metrics(
        session,
        lambda text: metric_value(text, "billing_exporter_config_last_reload_successful") == 0.0,
        "the reload metric to turn 0",
    )
    assert accounts_in(text) == {"sms-eu", "search"}
    polls = metric_value(text, "billing_polls_total", account="sms-eu")
    assert polls is not None

    def polled_again(text: str) -> bool:
        after = metric_value(text, "billing_polls_total", account="sms-eu")
        return after is not None and after > polls

    text = await exporter.wait_metrics(session, polled_again, "sms-eu polled after the reload")
    assert accounts_in(text) == {"sms-eu", "search"}
    assert metric_value(text, "billing_exporter_config_last_reload_successful") == 0.0

    async def reload_failure_logged() -> bool:
        return "config reload failed" in exporter.stderr

    await wait_until(reload_failure_logged, "the failed reload's log line", WAIT_DEADLINE)
    failed = [
        logfmt(line) for line in exporter.stderr.splitlines() if "config reload failed" in line
    ]
    assert [(fields["level"], fields["problem"]) for fields in failed] == [("error", problem)]

    # POST /-/reload with the broken file: 500 and the problem.
    async with session.post(exporter.base + "/-/reload") as response:
        assert response.status == 500
        assert await response.text() == f"failed to reload config:\n{problem}\n"

    # POST /-/reload with a good file: the new account appears, the removed one is gone.
    _write_serving_config(
        config,
        [
            _account("sms-eu", "telnyx", "TELNYX_KEY", url),
            _account("gateway", "23telecom", "TELECOM_KEY", url),
        ],
    )
    async with session.post(exporter.base + "/-/reload") as response:
        assert (response.status, await response.text()) == (200, "config reloaded\n")
    text = await exporter.wait_metrics(
        session,
        lambda text: metric_value(text, "billing_exporter_config_last_reload_successful") == 1.0,
        "the reload metric to turn 1",
    )
    assert accounts_in(text) == {"sms-eu", "gateway"}
    assert 'account="search"' not in text
    assert metric_value(text, "billing_poll_interval_seconds", account="gateway") == 2.0
    # The staying account keeps what it knew.
    assert metric_value(text, "billing_balance", account="sms-eu") == 300.5

    text = await exporter.wait_metrics(
        session,
        lambda text: metric_value(text, "billing_balance", account="gateway") is not None,
        "the new account's first balance",
    )
    assert accounts_in(text) == {"sms-eu", "gateway"}
    assert metric_value(text, "billing_balance", account="gateway", currency="EUR") == 42.1
    assert metric_value(text, "billing_credit_blocked", account="gateway") == 0.0
    assert (
        metric_value(text, "billing_provider_updated_timestamp_seconds", account="gateway")
        == TELECOM_UPDATED
    )


async def test_every_listen_address_is_served(tmp_path: Path, providers: FakeProviders) -> None:
    config = tmp_path / "exporter.yml"
    _write_serving_config(config, [_account("sms-eu", "telnyx", "TELNYX_KEY", providers.url)])
    first, second = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    exporter = RunningExporter(
        "--config.file",
        str(config),
        "--web.listen-address",
        first,
        address=second,  # given last, after the first
        cwd=tmp_path,
        env=environment(**KEYS),
    )
    async with exporter, aiohttp.ClientSession() as session:
        for address in (first, second):
            exporter.base = f"http://{address}"

            async def ready() -> bool:
                return (await exporter.get(session, "/-/ready")) == (200, "Ready\n")

            await wait_until(ready, f"/-/ready to answer 200 on {address}", WAIT_DEADLINE)
            await exporter.wait_metrics(
                session,
                lambda text: metric_value(text, "billing_balance", account="sms-eu") == 300.5,
                f"sms-eu's balance on {address}",
            )
            assert await exporter.get(session, "/-/healthy") == (200, "Healthy\n")
        assert await exporter.stop() == 0

    listening = [logfmt(line) for line in exporter.stderr.splitlines() if "listening" in line]
    assert [fields["address"] for fields in listening] == [first, second]
