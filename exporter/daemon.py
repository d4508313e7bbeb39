"""The running exporter: config, polling, snapshot and HTTP server, and reloads between them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

import aiohttp
from aiohttp import web

from exporter.clock import Clock, SystemClock
from exporter.config import Config, ConfigError, load_config
from exporter.http import WebState, build_app
from exporter.listener import Listener
from exporter.scheduler import Scheduler
from exporter.snapshot import SnapshotStore
from exporter.upstream import new_session
from exporter.webconfig import WebConfig, load_web_config

log = logging.getLogger("exporter.daemon")


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
                config = await asyncio.to_thread(self.load)
            except ConfigError as exc:
                problems += exc.problems
            web_config = self.web.config
            if self.web_config_path is not None:
                try:
                    web_config = await asyncio.to_thread(load_web_config, self.web_config_path)
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
            await self.web.replace(web_config)
            await self.scheduler.apply(config.accounts, config.max_concurrent_requests)
            self.store.set_reload(True, self.clock.time())
            log.info("config reloaded", extra={"accounts": len(config.accounts)})
            return []

    def app(self, telemetry_path: str = "/metrics") -> web.Application:
        return build_app(self.store, self.reload, telemetry_path, self.web)

    async def stop(self) -> None:
        await self.scheduler.stop()
        if self._own_session:
            await self.session.close()
