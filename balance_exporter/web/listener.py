"""The listening socket, plain or TLS; a reload that changes TLS replaces it."""

from __future__ import annotations

import logging
import ssl

from aiohttp import web

from balance_exporter.web.connections import ConnectionGate, GuardedSite

log = logging.getLogger("balance_exporter.listener")


class Listener:
    def __init__(
        self,
        runner: web.AppRunner,
        host: str | None,
        port: int,
        gate: ConnectionGate | None = None,
    ) -> None:
        self.runner = runner
        self.host = host
        self.port = port
        self.gate = gate or ConnectionGate(cap=1 << 30)  # one gate for every site in turn
        self.context: ssl.SSLContext | None = None
        self._site: web.TCPSite | None = None

    async def start(self, context: ssl.SSLContext | None) -> None:
        """Listen; OSError when the address cannot be bound."""
        site = GuardedSite(self.runner, self.host, self.port, self.gate, ssl_context=context)
        await site.start()
        self._site, self.context = site, context

    async def replace(self, context: ssl.SSLContext | None) -> None:
        """Listen with another TLS context; connections already open finish on the old one."""
        previous = self.context
        if self._site is not None:
            await self._site.stop()
        try:
            await self.start(context)
        except OSError as exc:
            log.error(
                "cannot listen with the new TLS settings; keeping the old",
                extra={"error": str(exc)},
            )
            await self.start(previous)
            raise
