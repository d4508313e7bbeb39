"""The running exporter: config, polling, snapshot and HTTP server, and reloads between them."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from argparse import Namespace
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path

import aiohttp
from aiohttp import web
from prometheus_client.exposition import generate_latest

from balance_exporter import __version__
from balance_exporter.config.checker import Config, ConfigError, load_config
from balance_exporter.config.webconfig import WebConfig, load_web_config
from balance_exporter.config.yamlfile import guarded
from balance_exporter.metrics.renderer import render
from balance_exporter.metrics.snapshot import SnapshotStore
from balance_exporter.polling.clock import Clock, SystemClock
from balance_exporter.polling.scheduler import Scheduler
from balance_exporter.polling.transport import new_session, refresh_proxies
from balance_exporter.web.connections import (
    ConnectionGate,
    ServerLimits,
    connection_cap,
    open_file_limit,
    quiet_accept_errors,
    runner_options,
)
from balance_exporter.web.listener import BindError, Listener
from balance_exporter.web.server import WebState, build_app

log = logging.getLogger("balance_exporter.daemon")

SHUTDOWN_GRACE = 3.0  # seconds given to open connections; the whole stop stays within 5 s
EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


class Daemon:
    def __init__(
        self,
        source: str | Path | Callable[[], Config],
        config: Config,
        *,
        clock: Clock | None = None,
        environ: Mapping[str, str] | None = None,
        session: aiohttp.ClientSession | None = None,
        web_config_path: str | Path | None = None,
        web_config: WebConfig | None = None,
    ) -> None:
        # Where reloads read the config from: a file, or (for the demo) a function.
        self.load = source if callable(source) else partial(load_config, source, environ)
        self.source_name = "<config>" if callable(source) else str(source)
        self.config = config
        self.web_config_path = web_config_path
        self.web = WebState(web_config)
        self.listener: Listener | None = None  # set once serving; TLS changes replace it
        self.clock = clock or SystemClock()
        self.store = SnapshotStore()
        self._own_session = session is None
        self.session = session or new_session()
        self.scheduler = Scheduler(
            self.store,
            self.clock,
            self.session,
            max_concurrent_requests=config.max_concurrent_requests,
        )
        self._reload_lock = asyncio.Lock()

    async def start(self) -> None:
        await self.scheduler.apply(self.config.accounts, self.config.max_concurrent_requests)
        self.store.set_reload(True, self.clock.time())

    async def reload(self) -> list[str]:
        """Re-read the config (and web config); on any problem keep the old ones. Returns them."""
        async with self._reload_lock:
            problems: list[str] = []
            try:
                config = await asyncio.to_thread(guarded, self.source_name, self.load)
            except ConfigError as exc:
                problems += exc.problems
            web_config = self.web.config
            if self.web_config_path is not None:
                try:
                    path = self.web_config_path
                    web_config = await asyncio.to_thread(
                        guarded, path, partial(load_web_config, path)
                    )
                except ConfigError as exc:
                    problems += exc.problems
            if not problems and web_config.tls != self.web.config.tls and self.listener:
                try:
                    await self.listener.replace(web_config.ssl_context())
                except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                    problems.append(f"{self.web_config_path}: cannot listen with it: {exc}")
            if problems:
                self.store.set_reload(False, self.clock.time())
                for problem in problems:
                    log.error(
                        "config reload failed; keeping the running config",
                        extra={"problem": problem},
                    )
                return problems
            for warning in config.warnings:
                log.warning(warning)
            self.config = config
            refresh_proxies(self.session)  # the environment's proxies, read again
            await self.web.replace(web_config)
            await self.scheduler.apply(config.accounts, config.max_concurrent_requests)
            self.store.set_reload(True, self.clock.time())
            log.info("config reloaded", extra={"accounts": len(config.accounts)})
            return []

    def app(self, telemetry_path: str = "/metrics", *, lifecycle: bool = False) -> web.Application:
        # The landing page shows the scheduler's time; the process's figures are rendered again
        # in real time (a test's fake clock counts and wakes the scheduler's sleepers only).
        return build_app(
            self.store,
            self.reload,
            telemetry_path,
            self.web,
            lifecycle=lifecycle,
            now=self.clock.time,
        )

    async def stop(self) -> None:
        await self.scheduler.stop()
        if self._own_session:
            await self.session.close()


async def run_once(config: Config) -> int:
    daemon = Daemon(lambda: config, config)  # polls once: never reloads
    try:
        ok = await daemon.scheduler.poll_all_once(config.accounts)
    finally:
        await daemon.stop()
    daemon.store.set_reload(True, daemon.clock.time())
    sys.stdout.write(render(daemon.store.snapshot, generate_latest).body.decode())
    return EXIT_OK if ok else EXIT_FAILED


async def serve(
    args: Namespace,
    config: Config,
    web_config: WebConfig | None = None,
    source: Callable[[], Config] | None = None,
    banner: Sequence[str] = (),
) -> int:
    daemon = Daemon(
        source or args.config_file,
        config,
        web_config_path=args.web_config_file,
        web_config=web_config,
    )
    limits = ServerLimits(args.idle_timeout, args.max_connections)
    cap = connection_cap(limits.max_connections, open_file_limit())
    if cap < limits.max_connections:
        log.warning(
            "fewer connections allowed than asked: the file limit keeps some for the polls",
            extra={"max_connections": cap, "asked": limits.max_connections},
        )
    quiet_accept_errors(asyncio.get_running_loop())
    runner = web.AppRunner(
        daemon.app(args.telemetry_path, lifecycle=args.enable_lifecycle),
        shutdown_timeout=SHUTDOWN_GRACE,
        handle_signals=False,
        **runner_options(limits),
    )
    await runner.setup()
    listener = Listener(runner, args.addresses, ConnectionGate(cap))
    try:
        await listener.start(daemon.web.config.ssl_context())
    except BindError as exc:
        log.error("cannot listen", extra={"address": exc.address.text, "error": exc.reason})
        await runner.cleanup()
        await daemon.stop()
        return EXIT_FAILED
    for address in args.addresses:
        log.info(
            "listening",
            extra={
                "address": address.text,
                "metrics": args.telemetry_path,
                "accounts": len(config.accounts),
                "tls": listener.context is not None,
                "basic_auth": daemon.web.auth is not None,
                "version": __version__,
            },
        )
    daemon.listener = listener
    if banner:  # printed once the address is really ours
        print("\n".join(banner), flush=True)

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    reloads: set[asyncio.Task[list[str]]] = set()

    def reload_on_signal() -> None:
        task = loop.create_task(daemon.reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, reload_on_signal)
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop_signal, stopping.set)

    await daemon.start()
    gc.freeze()  # the configuration and the accounts' states live on: never scan them again
    await stopping.wait()
    log.info("shutting down")
    for task in reloads:
        task.cancel()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(4.5):
            await daemon.stop()
            await runner.cleanup()
    return EXIT_OK
