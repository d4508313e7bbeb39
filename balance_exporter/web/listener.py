"""The listening sockets, one per address, plain or TLS; a reload that changes TLS replaces
them. Every address passes the same connection gate: the cap counts the clients of them all."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web

from balance_exporter.web.connections import ConnectionGate, GuardedSite

log = logging.getLogger("balance_exporter.listener")


@dataclass(frozen=True, slots=True)
class Address:
    text: str  # as given (--web.listen-address), for the log lines that name it
    host: str | None  # None: every interface
    port: int

    @property
    def url_host(self) -> str:
        """The host as a URL writes it."""
        if self.host is None:
            return "localhost"
        return f"[{self.host}]" if ":" in self.host else self.host


class BindError(OSError):
    """An address that cannot be listened on, and why."""

    def __init__(self, address: Address, error: OSError) -> None:
        super().__init__(error.errno, error.strerror or str(error))
        self.address = address
        self.reason = error.strerror or str(error)


class Listener:
    def __init__(
        self,
        runner: web.AppRunner,
        addresses: Sequence[Address],
        gate: ConnectionGate | None = None,
    ) -> None:
        self.runner = runner
        self.addresses = tuple(addresses)
        self.gate = gate or ConnectionGate(cap=1 << 30)  # one gate for every site in turn
        self.context: ssl.SSLContext | None = None
        self._sites: list[web.TCPSite] = []

    @property
    def ports(self) -> list[int]:
        """The port each address is bound to (the one the system chose for port 0)."""
        return [site.port for site in self._sites]

    async def start(self, context: ssl.SSLContext | None) -> None:
        """Listen on every address, or on none: BindError names the first that failed."""
        sites: list[web.TCPSite] = []
        for address in self.addresses:
            site = GuardedSite(
                self.runner, address.host, address.port, self.gate, ssl_context=context
            )
            try:
                await site.start()
            except OSError as exc:
                for started in sites:
                    await started.stop()
                raise BindError(address, exc) from exc
            sites.append(site)
        self._sites, self.context = sites, context

    async def stop(self) -> None:
        for site in self._sites:
            await site.stop()
        self._sites = []

    async def replace(self, context: ssl.SSLContext | None) -> None:
        """Listen with another TLS context; connections already open finish on the old one."""
        previous = self.context
        await self.stop()
        try:
            await self.start(context)
        except OSError as exc:
            log.error(
                "cannot listen with the new TLS settings; keeping the old",
                extra={"error": str(exc)},
            )
            await self.start(previous)
            raise
