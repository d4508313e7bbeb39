"""The /metrics body: rendered off the scrape path, once per snapshot change.

prometheus_client does the work — content negotiation (choose_encoder, gzip_accepted),
the ``name[]`` filter (restricted_registry) and the exposition formats. Its ready-made
aiohttp handler is not used because it renders on every request, and rendering 1,000
accounts costs about a quarter of a second: a scrape here serves the latest rendering,
and after a poll changes the snapshot the formats that scrapers asked for are rendered
again in a worker thread, spaced so that rendering takes at most a tenth of a core.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import time
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector, CollectorRegistry

from balance_exporter.metrics.collector import SnapshotCollector
from balance_exporter.metrics.snapshot import Snapshot, SnapshotStore

Encoder = Callable[[Collector], bytes]
VariantKey = tuple[str, tuple[str, ...]]  # content type, name[] filter

MAX_VARIANTS = 8  # formats x name[] filters kept up to date; others are rendered per request
MIN_SPACING = 0.05  # seconds between two refreshes, at the least
SPACING_FACTOR = 9.0  # pause after a refresh = this x its cost, so renders use <= 10% of a core
GZIP_LEVEL = 6


@dataclass(frozen=True, slots=True)
class Rendering:
    generation: int
    body: bytes
    gzipped: bytes


def registry_of(source: Snapshot | SnapshotStore) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(source))
    return registry


def render(snapshot: Snapshot, encoder: Encoder, names: tuple[str, ...] = ()) -> Rendering:
    """Pure and thread-safe: the snapshot is immutable."""
    registry = registry_of(snapshot)
    body = encoder(registry.restricted_registry(names) if names else registry)
    return Rendering(snapshot.generation, body, gzip.compress(body, GZIP_LEVEL))


class MetricsRenderer:
    def __init__(self, store: SnapshotStore) -> None:
        self.store = store
        self._encoders: dict[VariantKey, Encoder] = {}
        self._renderings: dict[VariantKey, Rendering] = {}
        self._refresh: asyncio.Task[None] | None = None
        self._spacing = MIN_SPACING
        self.renders = 0  # how many times an exposition was built; tests and benchmarks read it
        store.subscribe(self._changed)

    async def latest(self, accept: str, names: tuple[str, ...]) -> tuple[Rendering, str]:
        """The latest rendering in the format ``accept`` asks for, and its content type."""
        encoder, content_type = choose_encoder(accept)
        key = (content_type, names)
        rendering = self._renderings.get(key)
        if rendering is None:  # the first scrape of a format pays for its first rendering
            rendering = await self._render(self.store.snapshot, encoder, names)
            if len(self._encoders) < MAX_VARIANTS:
                self._encoders[key] = encoder
                self._renderings[key] = rendering
        elif rendering.generation != self.store.snapshot.generation:
            self._changed()  # already stale: make sure a refresh is on its way
        return rendering, content_type

    async def settled(self) -> None:
        """Wait until the renderings are of the current snapshot (tests, shutdown)."""
        while self._refresh is not None and not self._refresh.done():
            await asyncio.shield(self._refresh)

    async def close(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
            await asyncio.gather(self._refresh, return_exceptions=True)

    def _changed(self) -> None:
        if not self._encoders or (self._refresh is not None and not self._refresh.done()):
            return
        # Without a running loop (set-up code) the next scrape schedules the refresh instead.
        with contextlib.suppress(RuntimeError):
            self._refresh = asyncio.get_running_loop().create_task(self._refresh_all())

    async def _refresh_all(self) -> None:
        # Coalesces the polls that finish close together into one rendering.
        await asyncio.sleep(self._spacing)
        snapshot = self.store.snapshot
        for key, encoder in list(self._encoders.items()):
            if self._renderings[key].generation != snapshot.generation:
                started = time.perf_counter()
                self._renderings[key] = await self._render(snapshot, encoder, key[1])
                self._spacing = max(MIN_SPACING, SPACING_FACTOR * (time.perf_counter() - started))
        self._refresh = None
        if self.store.snapshot.generation != snapshot.generation:
            self._changed()  # polls finished while rendering

    async def _render(
        self, snapshot: Snapshot, encoder: Encoder, names: tuple[str, ...]
    ) -> Rendering:
        self.renders += 1
        return await asyncio.to_thread(render, snapshot, encoder, names)
