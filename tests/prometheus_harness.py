"""A real Prometheus and a real exporter process for end-to-end tests.

``Prometheus`` runs Debian's ``prometheus`` binary with a generated config in a directory of
its own, on a free loopback port, and answers PromQL through the HTTP API::

    async with Prometheus(tmp_path, [scrape_job("demo", ["127.0.0.1:9877"])]) as prometheus:
        samples = await prometheus.query('billing_balance{account="sms-eu"}')

Scrape jobs are plain dicts in Prometheus's own config schema, so a job can carry
``scheme``, ``tls_config`` or ``basic_auth``; ``files`` are written next to the config (a CA
certificate, a password file) and ``rule_files`` (name → YAML text) are loaded as rules.

``ExporterProcess`` runs ``python -m balance_exporter`` with the given flags and keeps its
stdout and stderr, so tests can wait for a line it prints, signal it and check what it logged.
``run_exporter`` runs it to its end and returns its output; ``run_exporter_async`` does the
same without blocking the event loop, which can then serve the fake providers it polls.

``require_binary`` skips a test when a Prometheus binary is missing, but fails it under
``CI=true``, where the end-to-end tests must run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, cast

import aiohttp
import yaml
from support import require_tool

START_DEADLINE = 30.0  # seconds for Prometheus to become ready
STOP_DEADLINE = 10.0  # seconds for a process to exit after SIGTERM before it is killed
QUERY_DEADLINE = 10.0  # seconds for one HTTP API call
PORT_ATTEMPTS = 3  # a free port can be taken between probing and binding: try again
RUN_DEADLINE = 30.0  # seconds for a run of the exporter to its end
EXPORTER = (sys.executable, "-m", "balance_exporter")
CHECKOUT = Path(__file__).resolve().parent.parent


def require_binary(name: str) -> str:
    """The path of ``prometheus`` or ``promtool``: skip without it, fail under ``CI=true``."""
    return require_tool(name, "prometheus")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def environment(**extra: str) -> dict[str, str]:
    """This process's environment without proxy settings (children talk to loopback only),
    importing the package of this checkout first, whatever the venv's editable install
    points at."""
    proxies = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    env = {key: value for key, value in os.environ.items() if key.lower() not in proxies}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CHECKOUT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


async def wait_until(
    condition: Callable[[], Awaitable[bool]],
    what: str | Callable[[], str],
    within: float,
    every: float = 0.1,
) -> None:
    """Check ``condition`` until it holds; AssertionError naming ``what`` after ``within`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await condition():
        if loop.time() > deadline:
            described = what() if callable(what) else what
            raise AssertionError(f"timed out after {within:g}s waiting for {described}")
        await asyncio.sleep(every)


def scrape_job(name: str, targets: Sequence[str], **settings: Any) -> dict[str, Any]:
    """One scrape config; ``settings`` are any of Prometheus's (scheme, tls_config...)."""
    return {"job_name": name, "static_configs": [{"targets": list(targets)}], **settings}


class PrometheusError(Exception):
    """The HTTP API answered with an error, or Prometheus could not start."""


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float
    timestamp: float


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    points: list[tuple[float, float]]  # (timestamp, value)


class Prometheus:
    def __init__(
        self,
        workdir: Path,
        scrape_configs: Sequence[Mapping[str, Any]],
        *,
        scrape_interval: str = "1s",
        evaluation_interval: str = "1s",
        rule_files: Mapping[str, str] | None = None,
        files: Mapping[str, str | bytes] | None = None,
        binary: str | None = None,
    ) -> None:
        self.workdir = workdir
        self.scrape_configs = [dict(job) for job in scrape_configs]
        self.scrape_interval = scrape_interval
        self.evaluation_interval = evaluation_interval
        self.rule_files = dict(rule_files or {})
        self.files = dict(files or {})
        self.binary = binary or require_binary("prometheus")
        self.config_path = workdir / "prometheus.yml"
        self.data_path = workdir / "data"
        self.log_path = workdir / "prometheus.log"
        self.port = 0
        self._process: asyncio.subprocess.Process | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "global": {
                "scrape_interval": self.scrape_interval,
                "scrape_timeout": self.scrape_interval,
                "evaluation_interval": self.evaluation_interval,
            },
            "scrape_configs": self.scrape_configs,
        }
        if self.rule_files:
            config["rule_files"] = [str(self.workdir / name) for name in self.rule_files]
        return config

    def log_text(self) -> str:
        """What Prometheus logged so far (for failure messages)."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    # --- lifecycle ---

    async def __aenter__(self) -> Prometheus:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self, within: float = START_DEADLINE) -> None:
        """Write the config and files, start Prometheus and wait until /-/ready answers 200."""
        self.write_files()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=QUERY_DEADLINE))
        for _ in range(PORT_ATTEMPTS):
            self.port = free_port()
            with self._open_log() as log:
                self._process = await asyncio.create_subprocess_exec(
                    self.binary,
                    f"--config.file={self.config_path}",
                    f"--storage.tsdb.path={self.data_path}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    env=environment(),
                )
            try:
                await wait_until(self._ready, "Prometheus to become ready", within)
            except AssertionError:
                await self.stop()
                raise PrometheusError(f"Prometheus did not start:\n{self.log_text()}") from None
            except _Exited:
                self._process = None
                if "address already in use" in self.log_text():
                    continue
                await self.stop()
                raise PrometheusError(f"Prometheus exited:\n{self.log_text()}") from None
            return
        await self.stop()
        raise PrometheusError(f"no free port found for Prometheus:\n{self.log_text()}")

    async def stop(self) -> None:
        """Stop Prometheus (SIGTERM, then SIGKILL) and remove its data; the log stays."""
        if self._process is not None:
            await stop_process(self._process)
            self._process = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        shutil.rmtree(self.data_path, ignore_errors=True)

    def write_files(self) -> None:
        """The config, rule files and other files, as start() writes them."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        for name, content in self.files.items():
            path = self.workdir / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        for name, text in self.rule_files.items():
            (self.workdir / name).write_text(text, encoding="utf-8")
        self.config_path.write_text(yaml.safe_dump(self.config()), encoding="utf-8")

    def _open_log(self) -> IO[bytes]:
        return self.log_path.open("ab")

    async def _ready(self) -> bool:
        if self._process is None or self._process.returncode is not None:
            raise _Exited
        try:
            async with self._client.get(f"{self.url}/-/ready") as response:
                return response.status == 200
        except aiohttp.ClientError:
            return False

    @property
    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise PrometheusError("Prometheus is not running")
        return self._session

    # --- the HTTP API ---

    async def api(self, path: str, **params: str) -> Any:
        """GET /api/v1/<path>; the ``data`` of a successful answer, PrometheusError otherwise."""
        async with self._client.get(f"{self.url}/api/v1/{path}", params=params) as response:
            body = await response.json(content_type=None)
        if not isinstance(body, dict) or body.get("status") != "success":
            raise PrometheusError(f"{path} {params}: {body}")
        return body["data"]

    async def query(self, expr: str, at: float | None = None) -> list[Sample]:
        """An instant query: a vector (or a scalar, as one sample without labels)."""
        params = {"query": expr}
        if at is not None:
            params["time"] = repr(at)
        data = await self.api("query", **params)
        if data["resultType"] in ("scalar", "string"):
            timestamp, value = data["result"]
            return [Sample({}, float(value), float(timestamp))]
        return [
            Sample(
                cast(dict[str, str], item["metric"]),
                float(item["value"][1]),
                float(item["value"][0]),
            )
            for item in data["result"]
        ]

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        data = await self.api(
            "query_range", query=expr, start=repr(start), end=repr(end), step=repr(step)
        )
        return [
            Series(
                cast(dict[str, str], item["metric"]),
                [(float(timestamp), float(value)) for timestamp, value in item["values"]],
            )
            for item in data["result"]
        ]

    async def value(self, expr: str) -> float | None:
        """The one sample ``expr`` yields now; None when it yields none."""
        samples = await self.query(expr)
        if len(samples) > 1:
            raise PrometheusError(f"{expr} yields {len(samples)} samples, not one: {samples}")
        return samples[0].value if samples else None

    async def targets(self) -> list[dict[str, Any]]:
        """The active scrape targets with their health and last error."""
        data = await self.api("targets", state="active")
        return cast(list[dict[str, Any]], data["activeTargets"])

    async def alerts(self) -> list[dict[str, Any]]:
        """Pending and firing alerts of the loaded rule files."""
        data = await self.api("alerts")
        return cast(list[dict[str, Any]], data["alerts"])


class _Exited(Exception):
    """The process ended while we waited for it."""


async def stop_process(process: asyncio.subprocess.Process) -> int:
    """SIGTERM, then SIGKILL after STOP_DEADLINE; the exit code."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(process.wait(), STOP_DEADLINE)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
    return await process.wait()


def run_exporter(
    *args: str, cwd: Path, timeout: float = RUN_DEADLINE
) -> subprocess.CompletedProcess[str]:
    """A run to its end; it blocks the test's loop, so no fake provider can answer it."""
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [*EXPORTER, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment(),
        timeout=timeout,
        check=False,
    )


async def run_exporter_async(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None
) -> tuple[int, str, str]:
    """A run to its end that leaves the loop free: exit code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        *EXPORTER,
        *args,
        cwd=cwd,
        env=environment() if env is None else env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), RUN_DEADLINE)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


class ExporterProcess:
    """``python -m balance_exporter <args>`` as a real process; its output is kept as it comes."""

    def __init__(self, *args: str, cwd: Path, env: Mapping[str, str] | None = None) -> None:
        self.args = args
        self.cwd = cwd
        self.env = dict(env) if env is not None else environment()
        self.returncode: int | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._readers: list[asyncio.Task[None]] = []
        self._output: dict[str, list[str]] = {"stdout": [], "stderr": []}

    @property
    def stdout(self) -> str:
        return "".join(self._output["stdout"])

    @property
    def stderr(self) -> str:
        return "".join(self._output["stderr"])

    async def __aenter__(self) -> ExporterProcess:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            *EXPORTER,
            *self.args,
            cwd=self.cwd,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert self._process.stdout is not None
        assert self._process.stderr is not None
        self._readers = [
            asyncio.create_task(self._collect(self._process.stdout, "stdout")),
            asyncio.create_task(self._collect(self._process.stderr, "stderr")),
        ]

    def send_signal(self, sig: int) -> None:
        """Signal the running exporter (SIGHUP: reload)."""
        self._running().send_signal(sig)

    def check_running(self) -> None:
        """Fail at once, with what the exporter logged, if it is not running."""
        self._running()

    def _running(self) -> asyncio.subprocess.Process:
        assert self._process is not None, "the exporter is not running"
        if self._process.returncode is not None:
            raise AssertionError(f"exporter exited {self._process.returncode}:\n{self.stderr}")
        return self._process

    async def _collect(self, stream: asyncio.StreamReader, name: str) -> None:
        while line := await stream.readline():
            self._output[name].append(line.decode(errors="replace"))

    async def output_matching(self, pattern: str, within: float) -> re.Match[str]:
        """Wait until stdout matches ``pattern`` (multiline); the match."""
        found: list[re.Match[str]] = []

        async def printed() -> bool:
            match = re.search(pattern, self.stdout, re.MULTILINE)
            if match is not None:
                found.append(match)
                return True
            if self._process is not None and self._process.returncode is not None:
                raise AssertionError(
                    f"the exporter exited with {self._process.returncode} before printing "
                    f"{pattern!r}:\n{self.stdout}\n{self.stderr}"
                )
            return False

        await wait_until(
            printed, lambda: f"{pattern!r} on stdout; it printed {self.stdout!r}", within
        )
        return found[0]

    async def stop(self) -> int:
        """SIGTERM and wait; the exit code (all output is collected by then)."""
        if self._process is not None:
            self.returncode = await stop_process(self._process)
            await asyncio.gather(*self._readers)
            self._process = None
        assert self.returncode is not None
        return self.returncode
