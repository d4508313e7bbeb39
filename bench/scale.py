"""The exporter at scale: 10,000 accounts polled every 60 s for four intervals, a baseline
revision against the working tree, each figure beside its goal.

Each tree's exporter runs as its own process (``python -m balance_exporter``) pinned to CPU 0;
a counting fake Telnyx (``GET /v2/balance``, a Bearer key per account) and this driver share
the other CPU(s). The fake notes the monotonic time and key of every request. The driver polls
``/-/ready`` every 50 ms from the spawn; once it answers 200 it scrapes ``/metrics`` (and counts
the ``billing_balance`` series in it), then probes ``/-/healthy`` 20 times a second and scrapes
``/metrics`` once a second as Prometheus 2.42 asks (OpenMetrics first, gzip), and reads the
process's CPU time and RSS from /proc once a second. Scrape bodies are read on a worker process,
off the timed path: how long the body had kept a poll waiting, from the first request the fake
answered after the newest ``billing_last_poll_timestamp_seconds`` the body shows. After the
first interval (the steady part) it counts requests per second at the fake (busiest second /
mean) and CPU time per request.
The config parse is ``load_config`` on the same 10,000-account file, best of three, in a
process of each tree. The baseline is a ``git worktree`` of ``--baseline`` in /tmp, imported
through ``PYTHONPATH``; both trees run with this venv's python, one after the other.

The machine may be shared: where allowed, the exporter, the fake and the driver run at nice -5.
The notes under the table say how busy other processes kept CPU 0 in the steady part and how
late the driver's own wake-ups were (p99): noise in the latencies, not the exporter's doing.

Run: make bench  (or: python -m bench.scale [--accounts N] [--interval S] [--intervals N]
[--baseline REV|none] [--only current|baseline]); a smoke run:
python -m bench.scale --accounts 500 --interval 10 --intervals 2
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import gzip
import json
import math
import multiprocessing
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
EXPORTER_CPU = 0
# What Prometheus 2.42 sends when it scrapes.
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
SCRAPE_HEADERS = {"Accept": PROMETHEUS_ACCEPT, "Accept-Encoding": "gzip"}
READY_POLL = 0.05  # s between /-/ready polls from the spawn
HEALTHY_PERIOD = 0.05  # 20 probes a second
SCRAPE_PERIOD = 1.0
SAMPLE_PERIOD = 1.0  # /proc readings
# Nice values. The machine may be shared: the exporter, the fake and the driver go before
# other work (where allowed), the worker reading scrape bodies after it, so that a probe's
# answer wakes the driver at once.
FIRST_NICE = -5
WORKER_NICE = 5
SUMMARY_WAIT = 300.0  # s the worker gets to finish reading the bodies after the run
STOP_GRACE = 10.0  # s the exporter gets to exit on SIGTERM before SIGKILL
ANSWERED = 0.05  # s: a request this long before a scrape has had its answer recorded
LAST_POLL = re.compile(rb"^billing_last_poll_timestamp_seconds\{[^}]*\} (\S+)", re.MULTILINE)
BALANCE = re.compile(rb"^billing_balance\{", re.MULTILINE)


class BenchError(Exception):
    """A run that cannot go on; its message is one line for the table's notes."""


# The counting fake provider, in its own process: python -m bench.scale --serve-fake PORT


def fake_app() -> web.Application:
    """Telnyx's balance endpoint as its docs and our simulator answer it, a balance per key that
    drops a cent a poll, and ``/-/requests``: the monotonic time and key of every request (an
    empty key for one without a Bearer key, answered 401 as Telnyx does)."""
    times: list[float] = []
    keys: list[str] = []
    polls: Counter[str] = Counter()

    async def balance(request: web.Request) -> web.Response:
        times.append(time.monotonic())
        header = request.headers.get("Authorization", "")
        key = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
        keys.append(key)
        if not key:
            body = {
                "errors": [
                    {
                        "code": "10009",
                        "title": "Authentication failed",
                        "detail": "Could not understand the provided credentials.",
                    }
                ]
            }
            return web.json_response(body, status=401)
        polls[key] += 1
        cents = 30000 - polls[key]
        data = {
            "record_type": "balance",
            "balance": f"{cents / 100:.2f}",
            "credit_limit": "100.00",
            "available_credit": f"{(cents + 10000) / 100:.2f}",
            "pending": "10.00",
            "currency": "USD",
        }
        return web.json_response({"data": data})

    async def requests(request: web.Request) -> web.Response:
        return web.json_response({"times": times, "keys": keys})

    app = web.Application()
    app.router.add_get("/v2/balance", balance)
    app.router.add_get("/-/requests", requests)
    return app


async def serve_fake(port: int) -> None:
    runner = web.AppRunner(fake_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    await asyncio.Event().wait()  # until SIGTERM


# Processes, ports, /proc


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def other_cpus() -> set[int]:
    cpus = os.sched_getaffinity(0)
    return cpus - {EXPORTER_CPU} or cpus


def set_nice(value: int) -> bool:
    """This process's nice value; False when not allowed (below 0 needs privilege)."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, value)
    except PermissionError:
        return False
    return True


def pin_to_exporter_cpu() -> None:
    """In the exporter's process (and the config parse's), before it runs."""
    os.sched_setaffinity(0, {EXPORTER_CPU})
    set_nice(FIRST_NICE)


def tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return ""
    return " | ".join(text.splitlines()[-lines:])


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_GRACE)


@dataclass(frozen=True)
class ProcReading:
    at: float  # monotonic
    cpu: float  # s of the exporter's user + system time
    rss_kb: int
    hwm_kb: int
    cpu0_busy: float  # s CPU 0 ran anything (the exporter or others)
    cpu0_steal: float  # s the hypervisor took CPU 0 away


def cpu0_times(ticks: float) -> tuple[float, float]:
    """CPU 0's busy and stolen time, in seconds, from /proc/stat."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{EXPORTER_CPU} "):
            user, nice, system, _, _, irq, softirq, steal = map(int, line.split()[1:9])
            return (user + nice + system + irq + softirq) / ticks, steal / ticks
    return 0.0, 0.0


def read_proc(pid: int) -> ProcReading:
    at = time.monotonic()
    ticks = os.sysconf("SC_CLK_TCK")
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # utime and stime are the 14th and 15th fields; fields[0] is the 3rd (state).
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    memory = {"VmRSS": 0, "VmHWM": 0}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in memory:
            memory[name] = int(value.split()[0])
    return ProcReading(at, cpu, memory["VmRSS"], memory["VmHWM"], *cpu0_times(ticks))


# Reading a scrape body, on a worker process


@dataclass(frozen=True)
class Summary:
    newest_poll: float | None  # the largest billing_last_poll_timestamp_seconds
    balances: int  # billing_balance series
    size: int  # bytes, uncompressed


def summarise(body: bytes, gzipped: bool) -> Summary:
    text = gzip.decompress(body) if gzipped else body
    polls = [float(value) for value in LAST_POLL.findall(text)]
    return Summary(max(polls, default=None), len(BALANCE.findall(text)), len(text))


# One tree's run


@dataclass(frozen=True)
class Tree:
    label: str  # column heading
    root: Path  # imported through PYTHONPATH, and the working directory


@dataclass(frozen=True)
class Settings:
    accounts: int
    interval: float
    intervals: int

    @property
    def length(self) -> float:
        return self.interval * self.intervals


@dataclass
class Run:
    """What the driver saw of one tree's exporter."""

    spawned: float = 0.0  # monotonic
    ready: float | None = None  # monotonic of the first 200 from /-/ready
    first_scrape: float | None = None  # s
    first_summary: Summary | None = None
    body_bytes: int = 0  # the last scrape's, as sent
    healthy: list[float] = field(default_factory=list)  # s per probe
    scrapes: list[float] = field(default_factory=list)  # s per scrape
    # (wall, monotonic, newest billing_last_poll_timestamp_seconds in its body) per scrape
    scraped: list[tuple[float, float, float]] = field(default_factory=list)
    proc: list[ProcReading] = field(default_factory=list)
    request_times: list[float] = field(default_factory=list)  # monotonic, at the fake
    request_keys: list[str] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    lateness: list[float] = field(default_factory=list)  # s, the driver's wake-ups
    parse: float | None = None  # s, best of three
    failure: str | None = None
    stderr: str = ""  # its last lines
    stderr_lines: int = 0


def config_text(settings: Settings, base_url: str) -> str:
    timeout = min(15.0, settings.interval / 2)
    lines = [
        "# Generated by bench/scale.py: every account is the counting fake's.",
        "global: {min_interval: 1s}",
        f"defaults: {{interval: {settings.interval:g}s, timeout: {timeout:g}s}}",
        "accounts:",
    ]
    lines.extend(
        f"  - {{name: acct-{i:05d}, provider: telnyx, api_key: KEY{i:05d}, base_url: '{base_url}'}}"
        for i in range(settings.accounts)
    )
    return "\n".join(lines) + "\n"


def tree_env(tree: Tree) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree.root)}


PARSE_SCRIPT = """
import json, sys, time
import balance_exporter
from balance_exporter.config.checker import load_config
times = []
for _ in range(3):
    started = time.perf_counter()
    config = load_config(sys.argv[1])
    times.append(time.perf_counter() - started)
print(json.dumps({"file": balance_exporter.__file__, "best": min(times),
                  "accounts": len(config.accounts)}))
"""


def measure_parse(tree: Tree, config: Path, accounts: int) -> float:
    """Best of three ``load_config`` of ``config`` in a process of ``tree``, on CPU 0."""
    result = subprocess.run(  # noqa: S603 - this venv's python with our own script
        [sys.executable, "-c", PARSE_SCRIPT, str(config)],
        cwd=tree.root,
        env=tree_env(tree),
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=pin_to_exporter_cpu,
        check=False,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no stderr"])[-1]
        raise BenchError(f"config parse failed: {last}")
    answer = json.loads(result.stdout)
    if not Path(answer["file"]).resolve().is_relative_to(tree.root.resolve()):
        raise BenchError(f"imported balance_exporter from {answer['file']}, not {tree.root}")
    if answer["accounts"] != accounts:
        raise BenchError(f"config parsed to {answer['accounts']} accounts, not {accounts}")
    best: float = answer["best"]
    return best


async def every(
    period: float,
    until: float,
    action: Callable[[], Awaitable[None]],
    lateness: list[float] | None = None,
) -> None:
    """``action`` every ``period`` s until ``until`` (monotonic); a late tick is not made up.
    ``lateness`` gets how late each tick woke (the driver's own lag), after a sleep."""
    due = time.monotonic()
    while (now := time.monotonic()) < until:
        if due > now:
            await asyncio.sleep(min(due, until) - now)  # the sampling cadence
            if lateness is not None and (woke := time.monotonic()) < until:
                lateness.append(woke - due)
            continue
        await action()
        due = max(due + period, time.monotonic())


class Driver:
    def __init__(
        self,
        run: Run,
        process: subprocess.Popen[bytes],
        url: str,
        stderr: Path,
        pool: ProcessPoolExecutor,
    ) -> None:
        self.run = run
        self.process = process
        self.url = url
        self.stderr = stderr
        self.pool = pool
        # (wall time, monotonic time) of each scrape's start, and its body's summary
        self.summaries: list[tuple[tuple[float, float], asyncio.Future[Summary]]] = []

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            raise BenchError(f"exporter exited with {code}: {tail(self.stderr) or 'no stderr'}")

    async def wait_ready(self, session: aiohttp.ClientSession, deadline: float) -> None:
        while True:
            self.check_alive()
            try:
                async with session.get(f"{self.url}/-/ready") as response:
                    await response.read()
                    if response.status == 200:
                        self.run.ready = time.monotonic()
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise BenchError(f"/-/ready not 200 within {deadline - self.run.spawned:.0f} s")
            await asyncio.sleep(READY_POLL)  # the readiness poll's cadence

    async def scrape(self, session: aiohttp.ClientSession) -> tuple[float, asyncio.Future[Summary]]:
        """One timed scrape: its duration, and its body's summary (read on the worker)."""
        wall, mono = time.time(), time.monotonic()
        started = time.perf_counter()
        async with session.get(f"{self.url}/metrics", headers=SCRAPE_HEADERS) as response:
            body = await response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise BenchError(f"/metrics answered {response.status}")
        gzipped = response.headers.get("Content-Encoding", "") == "gzip"
        self.run.body_bytes = len(body)
        loop = asyncio.get_running_loop()
        summary = loop.run_in_executor(self.pool, summarise, body, gzipped)
        self.summaries.append(((wall, mono), summary))
        return elapsed, summary

    async def probe_healthy(self, session: aiohttp.ClientSession) -> None:
        started = time.perf_counter()
        try:
            async with session.get(f"{self.url}/-/healthy") as response:
                await response.read()
                if response.status != 200:
                    self.run.errors[f"/-/healthy {response.status}"] += 1
        except (aiohttp.ClientError, TimeoutError) as error:
            self.run.errors[f"/-/healthy {type(error).__name__}"] += 1
        self.run.healthy.append(time.perf_counter() - started)

    async def scrape_once(self, session: aiohttp.ClientSession) -> None:
        started = time.perf_counter()
        try:
            elapsed, _ = await self.scrape(session)
        except (aiohttp.ClientError, TimeoutError, BenchError) as error:
            self.run.errors[f"/metrics {type(error).__name__}: {error}"[:80]] += 1
            elapsed = time.perf_counter() - started
        self.run.scrapes.append(elapsed)

    async def sample(self) -> None:
        self.check_alive()
        with contextlib.suppress(OSError):  # gone between the check and the read
            self.run.proc.append(read_proc(self.process.pid))

    async def drive(self, until: float, settings: Settings) -> None:
        timeout = aiohttp.ClientTimeout(total=30)
        async with (
            aiohttp.ClientSession(timeout=timeout) as probes,
            aiohttp.ClientSession(
                timeout=timeout, auto_decompress=False, connector=aiohttp.TCPConnector(limit=1)
            ) as scrapes,
        ):
            await together(
                every(SAMPLE_PERIOD, until, self.sample),
                self.from_ready(probes, scrapes, until, settings),
            )
        self.check_alive()
        with contextlib.suppress(OSError):
            self.run.proc.append(read_proc(self.process.pid))
        walls = [wall for wall, _ in self.summaries]
        try:
            summaries = await asyncio.wait_for(
                asyncio.gather(*(summary for _, summary in self.summaries)), SUMMARY_WAIT
            )
        except TimeoutError:
            raise BenchError(f"reading the scrape bodies took over {SUMMARY_WAIT:.0f} s") from None
        for (wall, mono), summary in zip(walls, summaries, strict=True):
            if summary.newest_poll is not None:
                self.run.scraped.append((wall, mono, summary.newest_poll))

    async def from_ready(
        self,
        probes: aiohttp.ClientSession,
        scrapes: aiohttp.ClientSession,
        until: float,
        settings: Settings,
    ) -> None:
        await self.wait_ready(probes, self.run.spawned + max(60.0, settings.length))
        self.run.first_scrape, first = await self.scrape(scrapes)
        self.summaries.pop()  # the first scrape is a figure of its own
        await together(
            every(HEALTHY_PERIOD, until, lambda: self.probe_healthy(probes), self.run.lateness),
            every(SCRAPE_PERIOD, until, lambda: self.scrape_once(scrapes)),
        )
        self.run.first_summary = await asyncio.wait_for(first, SUMMARY_WAIT)


async def together(*coroutines: Coroutine[Any, Any, None]) -> None:
    """Run ``coroutines`` to the end; the first to fail cancels the others and is raised."""
    tasks = [asyncio.create_task(coroutine) for coroutine in coroutines]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def fetch_requests(url: str) -> tuple[list[float], list[str]]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session,
        session.get(f"{url}/-/requests") as response,
    ):
        answer = await response.json()
    return answer["times"], answer["keys"]


async def wait_fake(url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while True:
            if process.poll() is not None:
                raise BenchError(f"the fake provider exited with {process.returncode}")
            try:
                async with session.get(f"{url}/-/requests") as response:
                    if response.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise BenchError("the fake provider did not answer within 20 s")
            await asyncio.sleep(0.05)  # until it listens


def spawn_fake(port: int) -> subprocess.Popen[bytes]:
    """The counting fake on ``port``, on the driver's CPU(s) and at its nice value."""
    return subprocess.Popen(  # noqa: S603 - this venv's python running this file
        [sys.executable, "-m", "bench.scale", "--serve-fake", str(port)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )


def spawn_exporter(
    tree: Tree, config: Path, port: int, stdout: Path, stderr: Path
) -> subprocess.Popen[bytes]:
    """``tree``'s exporter on ``port``, pinned to CPU 0, its output in the two files."""
    with stdout.open("wb") as out, stderr.open("wb") as err:
        return subprocess.Popen(  # noqa: S603 - this venv's python, our arguments
            [
                sys.executable,
                "-m",
                "balance_exporter",
                "--config.file",
                str(config),
                "--web.listen-address",
                f"127.0.0.1:{port}",
                "--log.level",
                "warn",
            ],
            cwd=tree.root,
            env=tree_env(tree),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            preexec_fn=pin_to_exporter_cpu,
        )


async def measure(tree: Tree, settings: Settings, workdir: Path, pool: ProcessPoolExecutor) -> Run:
    run = Run()
    fake_port, port = free_port(), free_port()
    fake_url = f"http://127.0.0.1:{fake_port}"
    config = workdir / f"{tree.label.split()[0]}.yml"
    config.write_text(config_text(settings, fake_url))
    stdout, stderr = workdir / f"{config.stem}.stdout", workdir / f"{config.stem}.stderr"
    try:
        run.parse = measure_parse(tree, config, settings.accounts)
        print(f"{tree.label}: config parse {run.parse:.2f} s", file=sys.stderr)
        fake = spawn_fake(fake_port)
        exporter: subprocess.Popen[bytes] | None = None
        try:
            await wait_fake(fake_url, fake, time.monotonic() + 20)
            run.spawned = time.monotonic()
            exporter = spawn_exporter(tree, config, port, stdout, stderr)
            until = run.spawned + settings.length
            print(
                f"{tree.label}: exporter pid {exporter.pid} on CPU {EXPORTER_CPU},"
                f" measuring for {settings.length:.0f} s",
                file=sys.stderr,
            )
            driver = Driver(run, exporter, f"http://127.0.0.1:{port}", stderr, pool)
            await driver.drive(until, settings)
            stop_process(exporter)
            run.request_times, run.request_keys = await fetch_requests(fake_url)
        finally:
            if exporter is not None:
                stop_process(exporter)
            stop_process(fake)
    except BenchError as error:
        run.failure = str(error)
        print(f"{tree.label}: FAILED: {error}", file=sys.stderr)
    run.stderr = tail(stderr, 3)
    with contextlib.suppress(OSError):
        run.stderr_lines = len(stderr.read_bytes().splitlines())
    return run


# Figures


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest rank."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(len(ordered) * fraction) - 1)]


@dataclass(frozen=True)
class Figure:
    text: str
    met: bool | None  # None: nothing to judge

    def cell(self) -> str:
        mark = {True: " ✓", False: " ✗", None: ""}[self.met]
        return self.text + mark


NOTHING = Figure("n/a", None)


def steady(run: Run, settings: Settings) -> tuple[ProcReading, ProcReading] | None:
    start = next((r for r in run.proc if r.at >= run.spawned + settings.interval), None)
    if start is None or run.proc[-1].at <= start.at:
        return None
    return start, run.proc[-1]


def burst(run: Run, settings: Settings) -> Figure:
    first, last = int(settings.interval), int(settings.length)
    if last <= first or not run.request_times:
        return NOTHING
    per_second = Counter(math.floor(t - run.spawned) for t in run.request_times)
    counts = [per_second[second] for second in range(first, last)]
    mean = statistics.fmean(counts)
    if mean == 0:
        return Figure("no requests", False)
    ratio = max(counts) / mean
    return Figure(f"{ratio:.1f}x ({max(counts)}/s vs {mean:.0f}/s)", ratio <= 2)


def behind(run: Run, settings: Settings) -> Figure:
    """How long each body had kept a poll waiting: from the first request the fake answered
    after the newest poll the body shows (and ANSWERED before the scrape) to the scrape. A
    quiet spell with no poll at all is no lag of the body's."""
    if not run.scraped or not run.request_times:
        return NOTHING
    times = sorted(run.request_times)
    lags = []
    for wall, mono, newest_shown in run.scraped:
        first_unshown = bisect.bisect_right(times, newest_shown - (wall - mono))
        waiting = first_unshown < len(times) and times[first_unshown] <= mono - ANSWERED
        lags.append(mono - times[first_unshown] if waiting else 0.0)
    median, maximum = statistics.median(lags), max(lags)
    return Figure(f"median {median:.2f}, max {maximum:.2f}", maximum <= 2)


def scrape_figure(run: Run, settings: Settings) -> Figure:
    if not run.scrapes or run.first_scrape is None:
        return NOTHING
    p99 = percentile(run.scrapes, 0.99) * 1000
    text = f"p99 {p99:.1f}, max {max(run.scrapes) * 1000:.1f}, first {run.first_scrape * 1000:.0f}"
    return Figure(text, p99 <= 50)


def healthy_figure(run: Run, settings: Settings) -> Figure:
    if not run.healthy:
        return NOTHING
    p99 = percentile(run.healthy, 0.99) * 1000
    return Figure(f"p99 {p99:.1f}, max {max(run.healthy) * 1000:.1f}", p99 <= 10)


def cpu_figure(run: Run, settings: Settings) -> Figure:
    window = steady(run, settings)
    if window is None or not run.request_times:
        return NOTHING
    start, end = window
    requests = sum(1 for t in run.request_times if start.at <= t < end.at)
    if requests == 0:
        return Figure("no requests", False)
    per_poll = (end.cpu - start.cpu) / requests * 1000
    return Figure(f"{per_poll:.3f} ({requests:,} requests)", per_poll <= 0.3)


def parse_figure(run: Run, settings: Settings) -> Figure:
    return NOTHING if run.parse is None else Figure(f"{run.parse:.2f}", run.parse <= 2)


def rss_figure(run: Run, settings: Settings) -> Figure:
    if not run.proc:
        return NOTHING
    peak = max(max(r.rss_kb, r.hwm_kb) for r in run.proc) / 1024
    return Figure(f"{peak:.0f}", peak <= 150)


def visible_figure(run: Run, settings: Settings) -> Figure:
    if run.first_summary is None or run.ready is None:
        return NOTHING
    ready = run.ready
    polled = len({k for t, k in zip(run.request_times, run.request_keys, strict=True) if t < ready})
    seen = run.first_summary.balances
    return Figure(f"{seen:,} of {settings.accounts:,} ({polled:,} polled)", seen >= polled)


def ready_figure(run: Run, settings: Settings) -> Figure:
    if run.ready is None:
        return NOTHING
    seconds = run.ready - run.spawned
    return Figure(f"{seconds:.1f}", seconds <= 10)


ROWS: tuple[tuple[str, str, Callable[[Run, Settings], Figure]], ...] = (
    ("busiest second / mean request rate, after interval 1", "≤ 2x", burst),
    ("served body behind the newest poll (s)", "≤ 2 s", behind),
    ("/metrics while polling (ms)", "p99 ≤ 50 ms", scrape_figure),
    ("event loop while rendering: /-/healthy (ms)", "p99 ≤ 10 ms", healthy_figure),
    ("CPU per poll (ms)", "≤ 0.3 ms", cpu_figure),
    ("config parse, {accounts:,} accounts (s)", "≤ 2 s", parse_figure),
    ("RSS, peak of the exporter (MB)", "≤ 150 MB", rss_figure),
    ("balances visible once /-/ready is 200", "all polled", visible_figure),
    ("start-up to /-/ready (s)", "≤ 10 s", ready_figure),
)


def cell(figure: Callable[[Run, Settings], Figure], run: Run, settings: Settings) -> str:
    """A figure's cell; a failed run has only its config parse (the rest would mislead)."""
    if run.failure and figure is not parse_figure:
        return "n/a"
    return figure(run, settings).cell()


def markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> Iterator[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    yield line(header)
    yield "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    yield from (line(row) for row in rows)


def report(runs: Sequence[tuple[Tree, Run]], settings: Settings, revisions: str) -> None:
    print(
        f"{settings.accounts:,} accounts, interval {settings.interval:g} s,"
        f" {settings.intervals} intervals ({settings.length:g} s per tree);"
        f" exporter on CPU {EXPORTER_CPU}, fake Telnyx and driver on CPU"
        f" {','.join(map(str, sorted(other_cpus())))}; {revisions}"
    )
    print()
    header = ["figure", *(tree.label for tree, _ in runs), "goal"]
    rows = [
        [
            name.format(accounts=settings.accounts),
            *(cell(figure, run, settings) for _, run in runs),
            goal,
        ]
        for name, goal, figure in ROWS
    ]
    for text in markdown(header, rows):
        print(text)
    print()
    for tree, run in runs:
        requests = len(run.request_times)
        notes = [f"{requests:,} requests at the fake from {len(set(run.request_keys)):,} keys"]
        notes.append(f"{len(run.scrapes)} scrapes, {len(run.healthy)} health probes")
        if run.first_summary is not None:
            notes.append(
                f"first body {run.first_summary.size / 1e6:.1f} MB,"
                f" last sent {run.body_bytes / 1e3:.0f} kB"
            )
        if run.lateness:
            lag = percentile(run.lateness, 0.99) * 1000
            notes.append(f"driver's own wake-up lag p99 {lag:.1f} ms")
        if (window := steady(run, settings)) is not None:
            start, end = window
            elapsed = end.at - start.at
            others = (end.cpu0_busy - start.cpu0_busy - (end.cpu - start.cpu)) / elapsed
            steal = (end.cpu0_steal - start.cpu0_steal) / elapsed
            notes.append(
                f"CPU {EXPORTER_CPU} in the steady part: exporter"
                f" {(end.cpu - start.cpu) / elapsed:.0%}, other processes {max(0, others):.0%},"
                f" stolen {steal:.0%}"
            )
        if run.failure:
            notes.append(f"FAILED: {run.failure}")
        notes.extend(f"{count}x {error}" for error, count in run.errors.items())
        if not run.stderr:
            notes.append("exporter stderr empty")
        elif run.stderr not in (run.failure or ""):
            notes.append(f"exporter stderr, {run.stderr_lines} lines, last: {run.stderr}")
        print(f"- {tree.label}: " + "; ".join(notes))


# Trees


def git(*args: str) -> str:
    result = subprocess.run(  # noqa: S603 - git with our own arguments
        ["git", "-C", str(ROOT), *args],  # noqa: S607 - git from PATH
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise SystemExit(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


@contextlib.contextmanager
def worktree(revision: str) -> Iterator[Path]:
    """A detached worktree of ``revision`` in /tmp, removed afterwards."""
    parent = Path(tempfile.mkdtemp(prefix="balance-exporter-scale-"))
    path = parent / "tree"
    git("worktree", "add", "--quiet", "--detach", str(path), revision)
    try:
        yield path
    finally:
        git("worktree", "remove", "--force", str(path))
        shutil.rmtree(parent, ignore_errors=True)


def precompile(root: Path) -> None:
    """Byte-compile ``root``'s package first, so that no run pays for it."""
    subprocess.run(  # noqa: S603 - this venv's python
        [sys.executable, "-m", "compileall", "-q", str(root / "balance_exporter")],
        check=False,
        capture_output=True,
        timeout=300,
    )


async def main(settings: Settings, baseline: str | None, only: str | None) -> int:
    os.sched_setaffinity(0, other_cpus())  # the driver, its worker and the fake
    favoured = set_nice(FIRST_NICE)
    # On SIGTERM, as on Ctrl-C: cancelled, the run stops its processes and its worktree.
    task = asyncio.current_task()
    if task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    head = git("rev-parse", "--short", "HEAD")
    dirty = " with uncommitted changes" if git("status", "--porcelain", "--", ".") else ""
    current = Tree(f"current ({head}{'+' if dirty else ''})", ROOT)
    revisions: list[str] = []
    runs: list[tuple[Tree, Run]] = []
    context = multiprocessing.get_context("spawn")
    with (
        ProcessPoolExecutor(
            max_workers=1, mp_context=context, initializer=set_nice, initargs=(WORKER_NICE,)
        ) as pool,
        tempfile.TemporaryDirectory(prefix="balance-exporter-scale-") as work,
        contextlib.ExitStack() as stack,
    ):
        workdir = Path(work)
        trees: list[Tree] = []
        if baseline is not None and only != "current":
            short = git("rev-parse", "--short", f"{baseline}^{{commit}}")
            root = stack.enter_context(worktree(short))
            trees.append(Tree(f"baseline ({short})", root))
            revisions.append(f"baseline = {short}")
        if only != "baseline":
            trees.append(current)
            revisions.append(f"current = working tree at {head}{dirty}")
        if not trees:
            raise SystemExit("nothing to run: --only baseline with --baseline none")
        for tree in trees:
            precompile(tree.root)
            runs.append((tree, await measure(tree, settings, workdir, pool)))
    priority = f"nice {FIRST_NICE}" if favoured else "nice 0 (not allowed to favour them)"
    report(runs, settings, f"{', '.join(revisions)}; exporter, fake and driver at {priority}")
    return 1 if any(run.failure for _, run in runs) else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=10000)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds")
    parser.add_argument("--intervals", type=int, default=4)
    parser.add_argument("--baseline", default="5ad6f8b", help="a revision, or none")
    parser.add_argument("--only", choices=("current", "baseline"))
    parser.add_argument("--serve-fake", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake is not None:
        asyncio.run(serve_fake(args.serve_fake))
    else:
        if args.accounts < 1 or args.interval <= 0 or args.intervals < 2:
            parser.error("--accounts and --interval must be positive, --intervals at least 2")
        chosen = None if args.baseline.lower() == "none" else args.baseline
        settings = Settings(args.accounts, args.interval, args.intervals)
        try:
            sys.exit(asyncio.run(main(settings, chosen, args.only)))
        except (KeyboardInterrupt, asyncio.CancelledError):
            sys.exit("interrupted: the exporter, the fake and any worktree are gone")
