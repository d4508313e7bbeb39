"""The /metrics bodies: rendered off the scrape path, after the snapshot changed.

prometheus_client does the work — content negotiation (choose_encoder, gzip_accepted), the
exposition formats, the encoding of every sample. Its ready-made aiohttp handler is not used
because it renders every account on every request (seconds at 10,000 accounts): here a scrape
serves the latest rendering, and after polls change the snapshot a worker thread of its own
renders again what changed (see exposition.py), pausing between two refreshes so that
rendering takes a small share of a core.

What a request can cost is bounded: the formats prometheus_client can negotiate are few and
each is kept up to date once asked for; a ``name[]`` filter keeps only the names that exist
(so junk names all select the same nothing), and a few filtered bodies are kept.

The same thread keeps a page (the landing page), given as a function of a snapshot, the time
it shows and a query: while someone looks at it (asked for in the last PAGE_INTEREST seconds),
every refresh makes the whole page again; a query's page is made on demand from the snapshot
the last refresh rendered, and a few are kept. A page also
shows the time (an account's figures go stale), so a kept one is made again once it is
PAGE_MAX_AGE old, even when nothing changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import CollectorRegistry

from balance_exporter.metrics.collector import SnapshotCollector, exporter_families
from balance_exporter.metrics.exposition import AccountLines, Encoder, Format, lines_agree
from balance_exporter.metrics.snapshot import ExporterState, Snapshot, SnapshotStore

Result = TypeVar("Result")

# The Accept headers of the formats Prometheus asks for: kept rendered from the start.
STANDARD_FORMATS = ("text/plain;version=0.0.4", "application/openmetrics-text;version=1.0.0")
MAX_FILTERED = 8  # name[]-filtered bodies kept
MIN_SPACING = 0.05  # seconds between two refreshes, at the least
MAX_SPACING = 1.0  # and at the most, so that a body is never far behind the polls
SPACING_FACTOR = 9.0  # pause after a refresh = this x its cost: rendering takes <= 10% of a core
GZIP_LEVEL = 1  # metrics compress about as well at the fastest level, at a third of the cost
PAGE_MAX_AGE = 10.0  # seconds a kept page is served for, at the most
PAGE_INTEREST = 60.0  # seconds after a request for it that refreshes make the whole page
MAX_PAGES = 8  # pages of a query kept, besides the whole page
MAX_PAGE_BYTES = 16 << 20  # and their bytes together, at the most (10,000 rows are megabytes)

# A page of a snapshot, at a time, for a query (None: the whole page); called in the render
# thread only.
PageMaker = Callable[[Snapshot, float, Any], bytes]


@dataclass(frozen=True, slots=True)
class Rendering:
    generation: int
    chunks: tuple[bytes, ...]  # the body in pieces, as the kept sections are: never copied
    gzipped: bytes | None = None  # made once a scraper asked for gzip
    at: float = 0.0  # a page: the time it shows

    @property
    def size(self) -> int:
        return sum(map(len, self.chunks))

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


def registry_of(source: Snapshot | SnapshotStore) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(source))
    return registry


def render(snapshot: Snapshot, encoder: Encoder, names: tuple[str, ...] = ()) -> Rendering:
    """The whole body at once (for --once); pure and thread-safe: the snapshot is immutable."""
    registry = registry_of(snapshot)
    body = encoder(registry.restricted_registry(names) if names else registry)
    return Rendering(snapshot.generation, (body,), gzip.compress(body, GZIP_LEVEL))


class MetricsRenderer:
    def __init__(
        self,
        store: SnapshotStore,
        page: PageMaker | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self._page = page
        self._now = now
        self._pages: OrderedDict[Hashable, Rendering] = OrderedDict()
        self._page_asked: float | None = None  # time.monotonic() of the last request for it
        # One thread renders: a flood of password checks or a reload never waits behind it,
        # and it never waits behind them. It alone touches the account lines.
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="render")
        text_encoder, _ = choose_encoder("")
        self._shared_lines = AccountLines(text_encoder)
        self._formats: dict[str, Format] = {}
        self._renderings: dict[str, Rendering] = {}
        self._gzip_wanted: set[str] = set()
        self._filtered: OrderedDict[tuple[str, tuple[str, ...]], Rendering] = OrderedDict()
        # Every sample name a filter can select: the exporter's own, and each format's.
        self._known_names = {
            sample.name
            for family in exporter_families(ExporterState(True, 0.0))
            for sample in family.samples
        }
        self._rendered = Snapshot(-1)
        self._asked = False  # whether any scrape has asked for a body yet
        self._refresh: asyncio.Task[None] | None = None
        self._spacing = MIN_SPACING
        self.renders = 0  # refreshes so far; tests and benchmarks read it
        self.pages_made = 0  # pages made so far, by refreshes and on demand
        for accept in STANDARD_FORMATS:
            self._format(accept)
        store.subscribe(self._changed)

    @property
    def ready(self) -> bool:
        """Whether the bodies served show every account's first poll (for /-/ready)."""
        return self._rendered.ready and self._rendered.generation >= 0

    def start(self) -> None:
        """Render the first bodies once every account has had its first poll attempt, or as
        soon as a scrape asks: a body of accounts not polled yet, that no one asked for,
        would cost seconds at start-up for nothing (10,000 accounts)."""
        self._changed()

    async def latest(
        self, accept: str, names: tuple[str, ...], want_gzip: bool
    ) -> tuple[Rendering, str]:
        """The latest rendering in the format ``accept`` asks for (gzipped too when
        ``want_gzip``), and its content type."""
        self._asked = True
        content_type, fmt = self._format(accept)
        if names:
            rendering = await self._filtered_body(content_type, fmt, names, want_gzip)
        else:
            rendering = await self._body(content_type, want_gzip)
        return rendering, content_type

    async def settled(self) -> None:
        """Wait until the bodies are of the current snapshot (tests, shutdown)."""
        self._asked = True
        while True:
            if self._refresh is None or self._refresh.done():
                generation = self.store.snapshot.generation
                current = self._rendered.generation == generation
                page = self._pages.get(None)
                page_current = not self._page_wanted or (
                    page is not None and page.generation == generation
                )
                if current and page_current and self._renderings.keys() >= self._formats.keys():
                    return
                self._changed()
            assert self._refresh is not None
            await asyncio.shield(self._refresh)

    async def page(self, query: Hashable | None, want_gzip: bool) -> Rendering:
        """The page of ``query`` (None: the whole page), gzipped too when ``want_gzip``."""
        if self._page is None:
            raise RuntimeError("this renderer keeps no page")
        self._asked = True
        self._page_asked = time.monotonic()
        if self._rendered.generation < 0:  # the first refresh makes the whole page too
            await self.settled()
        now = self._now()
        base = self._rendered
        kept = self._pages.get(query)
        if kept is None or kept.generation != base.generation or now - kept.at > PAGE_MAX_AGE:
            body = await self._run(self._page, base, now, query)
            kept = Rendering(base.generation, (body,), at=now)
            self.pages_made += 1
        if want_gzip and kept.gzipped is None:
            kept = await self._run(_with_gzip, kept)
        self._keep_page(query, kept)
        return kept

    @property
    def _page_wanted(self) -> bool:
        asked = self._page_asked
        return asked is not None and time.monotonic() - asked <= PAGE_INTEREST

    def _keep_page(self, query: Hashable | None, rendering: Rendering) -> None:
        known = self._pages.get(query)
        if known is not None and (known.generation, known.at) > (
            rendering.generation,
            rendering.at,
        ):
            return  # a refresh made a newer one meanwhile
        self._pages[query] = rendering
        self._pages.move_to_end(query)
        filtered = [key for key in self._pages if key is not None]  # oldest first
        size = sum(self._pages[key].size for key in filtered)
        while filtered and (len(filtered) > MAX_PAGES or size > MAX_PAGE_BYTES):
            size -= self._pages.pop(filtered.pop(0)).size

    async def close(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
            await asyncio.gather(self._refresh, return_exceptions=True)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _format(self, accept: str) -> tuple[str, Format]:
        encoder, content_type = choose_encoder(accept)
        fmt = self._formats.get(content_type)
        if fmt is None:  # prometheus_client negotiates a handful of formats: this stays small
            shared = lines_agree(encoder, self._shared_lines.encoder)
            lines = self._shared_lines if shared else AccountLines(encoder)
            fmt = self._formats[content_type] = Format(encoder, lines)
            self._known_names |= {name for names in fmt.sample_names for name in names}
        return content_type, fmt

    async def _body(self, content_type: str, want_gzip: bool) -> Rendering:
        if want_gzip:
            self._gzip_wanted.add(content_type)
        rendering = self._renderings.get(content_type)
        if rendering is None:  # a format asked for the first time waits for its first body
            await self.settled()
            rendering = self._renderings[content_type]
        elif rendering.generation != self.store.snapshot.generation:
            self._changed()  # already stale: make sure a refresh is on its way
        if want_gzip and rendering.gzipped is None:
            rendering = await self._run(_with_gzip, rendering)
            if self._renderings.get(content_type, rendering).generation == rendering.generation:
                self._renderings[content_type] = rendering
        return rendering

    async def _filtered_body(
        self, content_type: str, fmt: Format, names: tuple[str, ...], want_gzip: bool
    ) -> Rendering:
        if content_type not in self._renderings:  # its lines are filled by a first refresh
            await self.settled()
        key = (content_type, tuple(sorted(set(names) & self._known_names)))
        rendering = self._filtered.get(key)
        if rendering is None or rendering.generation != self._rendered.generation:
            snapshot = self._rendered
            body = await self._run(fmt.body, snapshot, key[1])
            rendering = Rendering(snapshot.generation, (body,))
        if want_gzip and rendering.gzipped is None:
            rendering = await self._run(_with_gzip, rendering)
        self._filtered[key] = rendering
        self._filtered.move_to_end(key)
        while len(self._filtered) > MAX_FILTERED:
            self._filtered.popitem(last=False)
        return rendering

    def _changed(self) -> None:
        if self._refresh is not None and not self._refresh.done():
            return
        if not self._asked and self.store.unpolled:
            return  # nobody has asked yet, and the first polls are still coming
        # Without a running loop (set-up code) the next scrape schedules the refresh instead.
        with contextlib.suppress(RuntimeError):
            self._refresh = asyncio.get_running_loop().create_task(self._refresh_all())

    async def _refresh_all(self) -> None:
        # The pause coalesces the polls that finish close together into one refresh.
        await asyncio.sleep(self._spacing)
        snapshot = self.store.snapshot
        formats = dict(self._formats)
        page = self._page if self._page_wanted else None
        now = self._now()
        renderings, whole, cost = await self._run(
            _render_all, snapshot, formats, frozenset(self._gzip_wanted), page, now
        )
        self._renderings.update(renderings)
        if whole is not None:
            self._keep_page(None, Rendering(snapshot.generation, (whole,), at=now))
            self.pages_made += 1
        self._rendered = snapshot
        self.renders += 1
        # The cost of the whole refresh, every format in it, sets the pause.
        self._spacing = min(MAX_SPACING, max(MIN_SPACING, SPACING_FACTOR * cost))
        self._refresh = None
        if self.store.snapshot.generation != snapshot.generation:
            self._changed()  # polls finished while rendering

    async def _run(self, function: Callable[..., Result], *args: object) -> Result:
        return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)


def _render_all(
    snapshot: Snapshot,
    formats: dict[str, Format],
    gzip_wanted: frozenset[str],
    page: PageMaker | None,
    now: float,
) -> tuple[dict[str, Rendering], bytes | None, float]:
    """Every format's body of ``snapshot``, the whole page (when kept), and the CPU time it
    all took (in the render thread)."""
    started = time.thread_time()
    refreshed: set[int] = set()
    renderings = {}
    for content_type, fmt in formats.items():
        if id(fmt.lines) not in refreshed:  # formats that share lines refresh them once
            fmt.lines.refresh(snapshot.accounts)
            refreshed.add(id(fmt.lines))
        chunks = fmt.chunks(snapshot)
        zipped = _gzip(chunks) if content_type in gzip_wanted else None
        renderings[content_type] = Rendering(snapshot.generation, chunks, zipped)
    whole = None if page is None else page(snapshot, now, None)
    return renderings, whole, time.thread_time() - started


def _gzip(chunks: tuple[bytes, ...]) -> bytes:
    """One gzip stream of the pieces (zlib's, written as it goes: no joined copy first)."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return b"".join([*map(compressor.compress, chunks), compressor.flush()])


def _with_gzip(rendering: Rendering) -> Rendering:
    return replace(rendering, gzipped=_gzip(rendering.chunks))
