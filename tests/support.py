"""Helpers shared by the test modules: the tool-missing policy, the failure reasons of the metric
contract, reading an exposition and a log line, password hashes and web configs, and the
exporter's app under aiohttp's test server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, NoReturn

import bcrypt
import pytest
from aiohttp import test_utils, web
from fakeclock import FakeClock, seeded
from prometheus_client.parser import text_string_to_metric_families

from balance_exporter.config.account import AccountConfig
from balance_exporter.metrics.snapshot import SnapshotStore
from balance_exporter.polling.scheduler import PollFunction, Scheduler
from balance_exporter.web.server import Reload, build_app

Client = test_utils.TestClient[web.Request, web.Application]

# The values of billing_poll_failures_total's reason label, spelled out rather than read from
# polling.errors.Reason, so that changing one breaks the tests of the metric contract.
FAILURE_REASONS = (
    "auth",
    "rate_limited",
    "server_error",
    "client_error",
    "timeout",
    "network",
    "invalid_response",
)


def unavailable(reason: str) -> NoReturn:
    """Skip for want of a tool or privilege, except under ``CI=true``, where it fails."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI=true it must be there")
    pytest.skip(reason)


def require_tool(name: str, package: str) -> str:
    """The path of a Debian tool: skip without it, fail under ``CI=true``."""
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed (apt-get install {package})")
    return path


def run_tool(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """A local tool (promtool, say) on our own files, its output kept; never raises on a
    non-zero exit, which the caller asserts on."""
    return subprocess.run(  # noqa: S603 - a tool of the tests on our own files
        [str(arg) for arg in args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def metric_value(exposition: str, name: str, **labels: str) -> float | None:
    """The one sample ``name`` whose labels include ``labels``; None when there is none."""
    found = [
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    ]
    assert len(found) <= 1, (name, labels, found)
    return found[0] if found else None


def by_account(exposition: str, sample_name: str) -> dict[str, float]:
    """The samples called ``sample_name`` by account, the exposition parsed once."""
    return {
        sample.labels["account"]: sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == sample_name
    }


def accounts_in(exposition: str) -> set[str]:
    """Every account a sample names."""
    return {
        sample.labels["account"]
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if "account" in sample.labels
    }


def balances(exposition: str) -> dict[str, float]:
    """billing_balance by account."""
    return by_account(exposition, "billing_balance")


class LandingTable(HTMLParser):
    """The accounts table of a landing page (as served, or a browser's DOM): each row as
    column -> text (entities decoded), its CSS class, and its sparkline's spoken label."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.columns: list[str] = []
        self.rows: list[dict[str, str]] = []
        self.classes: list[str] = []
        self.sparklines: list[str | None] = []
        self._cells: list[str] | None = None
        self._in: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "tr" and "tbody" in self._in:
            self._cells = []
            self.classes.append(attributes.get("class") or "")
            self.sparklines.append(None)
        elif tag in ("td", "th") and (self._cells is not None or "thead" in self._in):
            if self._cells is not None:
                self._cells.append("")
            else:
                self.columns.append("")
        elif tag == "svg" and self._cells is not None:
            self.sparklines[-1] = attributes.get("aria-label")
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._in:
            while self._in.pop() != tag:
                pass
        if tag == "tr" and self._cells is not None:
            self.rows.append(dict(zip(self.columns, self._cells, strict=True)))
            self._cells = None

    def handle_data(self, data: str) -> None:
        if self._cells is not None and self._cells and "td" in self._in:
            self._cells[-1] += data
        elif "th" in self._in and "thead" in self._in:
            self.columns[-1] += data

    def by_account(self) -> dict[str, dict[str, str]]:
        return {row["Account"]: row for row in self.rows}


# One key=value field of a logfmt line; the value bare or quoted with backslash escapes.
LOGFMT_FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def logfmt(line: str) -> dict[str, str]:
    """The fields of a logfmt line, quoted values unescaped."""
    fields = {}
    for key, raw in LOGFMT_FIELD.findall(line):
        value = raw
        if raw.startswith('"'):
            value = re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), raw[1:-1])
        fields[key] = value
    return fields


def bcrypt_hash(password: str, cost: int = 4) -> str:
    """A ``$2b$`` hash of ``password``, cheap at the default cost."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=cost)).decode()


def htpasswd_hash(user: str, password: str) -> str:
    """The bcrypt hash ``htpasswd -nbBC 10`` prints for the user (a ``$2y$`` hash)."""
    htpasswd = require_tool("htpasswd", "apache2-utils")
    result = subprocess.run(  # noqa: S603 - a fixed tool with test-made arguments
        [htpasswd, "-nbBC", "10", user, password],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    name, _, hashed = result.stdout.strip().partition(":")
    assert name == user
    return hashed


def write_tls_auth_web_config(folder: Path, user: str, hashed: str) -> Path:
    """folder/web.yml: TLS with folder/server.pem and server-key.pem, basic auth for ``user``."""
    path = folder / "web.yml"
    path.write_text(
        "tls_server_config:\n"
        "  cert_file: server.pem\n"
        "  key_file: server-key.pem\n"
        "basic_auth_users:\n"
        f"  {user}: '{hashed}'\n",
        encoding="utf-8",
    )
    return path


# --- the exporter's app under aiohttp's test server -------------------------------------------


async def no_reload() -> list[str]:
    """A reload with nothing to reload and no problem."""
    return []


class FakeReload:
    """A reload that counts its calls and reports the same ``problems`` each time."""

    def __init__(self, problems: Sequence[str] = ()) -> None:
        self.problems = list(problems)
        self.calls = 0

    async def __call__(self) -> list[str]:
        self.calls += 1
        return self.problems


@asynccontextmanager
async def serving(
    store: SnapshotStore,
    reload: Reload = no_reload,
    telemetry_path: str = "/metrics",
    *,
    lifecycle: bool = True,
    now: Callable[[], float] = time.time,
    clock: FakeClock | None = None,
    **client_options: Any,
) -> AsyncIterator[Client]:
    """The exporter's app over ``store``, and a client of it (POST /-/reload enabled); ``now``
    is the time the landing page sees. The process's figures are rendered again only when
    ``clock`` is advanced: a test's bodies change only with its snapshot unless it asks."""
    app = build_app(
        store,
        reload,
        telemetry_path,
        lifecycle=lifecycle,
        now=now,
        clock=clock or FakeClock(),
    )
    async with test_utils.TestClient(test_utils.TestServer(app), **client_options) as client:
        yield client


@asynccontextmanager
async def scheduled(
    clock: FakeClock, poll: PollFunction, seed: int, accounts: Sequence[AccountConfig]
) -> AsyncIterator[Client]:
    """``serving`` over a scheduler polling ``accounts``, each waiting for its first poll."""
    store = SnapshotStore()
    scheduler = Scheduler(store, clock, rng=seeded(seed), poll_function=poll)
    await scheduler.apply(accounts, 8)
    await clock.wait_for_sleepers(len(accounts))
    try:
        async with serving(store) as client:
            yield client
    finally:
        await scheduler.stop()
