"""The /metrics bodies: rendered off the scrape path, after the snapshot changed.

prometheus_client does the work — content negotiation (choose_encoder, gzip_accepted), the
exposition formats, the encoding of every sample. Its ready-made aiohttp handler is not used
because it renders every account on every request (seconds at 10,000 accounts): here a scrape
serves the latest rendering, and after polls change the snapshot a worker thread of its own
renders again what changed (see exposition.py), pausing between two refreshes so that
rendering takes a small share of a core.

A body is a head, the accounts' families, and a tail: the exporter's own families and the
process's figures (process.py), which change all the time. The same thread renders the tails
alone every LIVE_EVERY seconds and joins each to the kept head; the gzip stream of a head is
kept with its compressor's state, so a new tail is compressed on a copy of it, not the whole
body again.

What a request can cost is bounded: the formats prometheus_client can negotiate are few and
each is kept up to date once asked for; a ``name[]`` filter keeps only the names that exist
(so junk names all select the same nothing), and a few filtered bodies are kept.

The same thread keeps a page (the landing page), given as a function of a snapshot, the time
it shows and a query: while someone looks at it (asked for in the last PAGE_INTEREST seconds),
every refresh makes the whole page again; a query's page is made on demand from the snapshot
the last refresh rendered, and a few are kept. A page also shows the time (an account's
figures go stale), so a kept one is made again once it is PAGE_MAX_AGE old, even when nothing
changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector, CollectorRegistry

from balance_exporter.metrics.collector import SnapshotCollector, exporter_families
from balance_exporter.metrics.exposition import AccountLines, Encoder, Format, lines_agree
from balance_exporter.metrics.process import LIVE_EVERY, process_collectors
from balance_exporter.metrics.snapshot import ExporterState, Snapshot, SnapshotStore
from balance_exporter.polling.clock import Clock, SystemClock

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
class GzipHead:
    """The gzip stream of a body's head so far, and the compressor as it stood after it."""

    data: bytes
    compressor: zlib._Compress  # never used itself: each tail is compressed on a copy

    def finish(self, tail: bytes) -> tuple[bytes, bytes]:
        """The whole body's gzip stream, in two pieces."""
        compressor = self.compressor.copy()
        return self.data, compressor.compress(tail) + compressor.flush()


@dataclass(frozen=True, slots=True)
class Rendering:
    generation: int
    head: tuple[bytes, ...]  # the accounts' families in pieces, as kept: never copied
    tail: bytes  # the exporter's and the process's families, and the format's end
    stamp: int = 0  # the renderer's count of tail renderings when this one's was made
    gzip_head: GzipHead | None = None  # made once a scraper asked for gzip
    gzipped: tuple[bytes, ...] | None = None

    @property
    def chunks(self) -> tuple[bytes, ...]:
        return (*self.head, self.tail)

    @property
    def size(self) -> int:
        return sum(map(len, self.head)) + len(self.tail)

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def with_tail(self, tail: bytes, stamp: int) -> Rendering:
        gzipped = None if self.gzip_head is None else self.gzip_head.finish(tail)
        return replace(self, tail=tail, stamp=stamp, gzipped=gzipped)


@dataclass(frozen=True, slots=True)
class Page:
    """A page as made from the snapshot of ``generation`` at the time ``at`` shows."""

    generation: int
    body: bytes
    at: float
    gzipped: bytes | None = None  # made once a browser asked for gzip

    @property
    def size(self) -> int:
        return len(self.body)


def registry_of(source: Snapshot | SnapshotStore) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(source))
    return registry


def render(snapshot: Snapshot, encoder: Encoder, names: tuple[str, ...] = ()) -> Rendering:
    """The whole body at once (for --once); pure and thread-safe: the snapshot is immutable."""
    registry = registry_of(snapshot)
    body = encoder(registry.restricted_registry(names) if names else registry)
    return Rendering(snapshot.generation, (), body, gzipped=(gzip.compress(body, GZIP_LEVEL),))


class MetricsRenderer:
    def __init__(
        self,
        store: SnapshotStore,
        page: PageMaker | None = None,
        now: Callable[[], float] = time.time,
        *,
        clock: Clock | None = None,
        live: Sequence[Collector] | None = None,
        live_every: float = LIVE_EVERY,
    ) -> None:
        """``page`` makes the landing page, showing the time ``now`` tells (the scheduler's
        clock); ``live``: collectors of figures that change without the snapshot (the
        process's), rendered into the tails every ``live_every`` seconds of ``clock``."""
        self.store = store
        self._page = page
        self._now = now
        self._pages: OrderedDict[Hashable, Page] = OrderedDict()
        self._page_asked: float | None = None  # time.monotonic() of the last request for it
        self.clock = clock or SystemClock()
        self.live = tuple(process_collectors() if live is None else live)
        self.live_every = live_every
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
            for family in [
                *exporter_families(ExporterState(True, 0.0)),
                *collect(self.live),
            ]
            for sample in family.samples
        }
        self._rendered = Snapshot(-1)
        self._asked = False  # whether any scrape has asked for a body yet
        self._refresh: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._spacing = MIN_SPACING
        self._stamp = 0  # tail renderings so far, a refresh's included
        self.renders = 0  # refreshes so far; tests and benchmarks read it
        self.tail_renders = 0  # renderings of the tails alone so far
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
        would cost seconds at start-up for nothing (10,000 accounts). From then on the tails
        are rendered again every ``live_every`` seconds."""
        self._changed()
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick())

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

    async def page(self, query: Hashable | None, want_gzip: bool) -> Page:
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
            kept = Page(base.generation, body, now)
            self.pages_made += 1
        if want_gzip and kept.gzipped is None:
            kept = await self._run(_page_with_gzip, kept)
        self._keep_page(query, kept)
        return kept

    @property
    def _page_wanted(self) -> bool:
        asked = self._page_asked
        return asked is not None and time.monotonic() - asked <= PAGE_INTEREST

    def _keep_page(self, query: Hashable | None, page: Page) -> None:
        known = self._pages.get(query)
        if known is not None and (known.generation, known.at) > (page.generation, page.at):
            return  # a refresh made a newer one meanwhile
        self._pages[query] = page
        self._pages.move_to_end(query)
        filtered = [key for key in self._pages if key is not None]  # oldest first
        size = sum(self._pages[key].size for key in filtered)
        while filtered and (len(filtered) > MAX_PAGES or size > MAX_PAGE_BYTES):
            size -= self._pages.pop(filtered.pop(0)).size

    async def refresh_tails(self) -> None:
        """Render the tails of the kept bodies again, with the process's figures as they are
        now; the heads, and their gzip streams, stay as they are."""
        kept = dict(self._renderings)
        if not kept:
            return  # no body yet: the first refresh renders the tails with the rest
        stamp = self._stamp + 1
        self._stamp = stamp
        fresh = await self._run(
            _new_tails, self._rendered, kept, dict(self._formats), self.live, stamp
        )
        for content_type, rendering in fresh.items():
            # A refresh that finished meanwhile made a newer body, tail and all: keep it.
            if self._renderings.get(content_type) is kept[content_type]:
                self._renderings[content_type] = rendering
        self.tail_renders += 1

    async def _tick(self) -> None:
        while True:
            await self.clock.sleep(self.live_every)
            if self._refresh is None or self._refresh.done():  # a refresh makes tails too
                await self.refresh_tails()

    async def close(self) -> None:
        for task in (self._refresh, self._ticker):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
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
            zipped = await self._run(_with_gzip, rendering)
            if self._renderings.get(content_type) is rendering:  # nothing newer came meanwhile
                self._renderings[content_type] = zipped
            rendering = zipped
        return rendering

    async def _filtered_body(
        self, content_type: str, fmt: Format, names: tuple[str, ...], want_gzip: bool
    ) -> Rendering:
        if content_type not in self._renderings:  # its lines are filled by a first refresh
            await self.settled()
        key = (content_type, tuple(sorted(set(names) & self._known_names)))
        rendering = self._filtered.get(key)
        if rendering is None or rendering.stamp != self._stamp:  # its tail is out of date
            snapshot, stamp = self._rendered, self._stamp
            body = await self._run(_filtered, fmt, snapshot, key[1], self.live)
            rendering = Rendering(snapshot.generation, (), body, stamp)
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
        self._stamp += 1
        page = self._page if self._page_wanted else None
        now = self._now()
        renderings, whole, cost = await self._run(
            _render_all,
            snapshot,
            formats,
            frozenset(self._gzip_wanted),
            self.live,
            self._stamp,
            page,
            now,
        )
        self._renderings.update(renderings)
        if whole is not None:
            self._keep_page(None, Page(snapshot.generation, whole, now))
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
    live: Sequence[Collector],
    stamp: int,
    page: PageMaker | None,
    now: float,
) -> tuple[dict[str, Rendering], bytes | None, float]:
    """Every format's body of ``snapshot``, the whole page (when kept), and the CPU time it
    all took (in the render thread)."""
    started = time.thread_time()
    refreshed: set[int] = set()
    renderings = {}
    figures = collect(live)  # once: every format shows the same
    for content_type, fmt in formats.items():
        if id(fmt.lines) not in refreshed:  # formats that share lines refresh them once
            fmt.lines.refresh(snapshot.accounts)
            refreshed.add(id(fmt.lines))
        *head, tail = fmt.chunks(snapshot, None, figures)
        rendering = Rendering(snapshot.generation, tuple(head), tail, stamp)
        if content_type in gzip_wanted:
            rendering = _with_gzip(rendering)
        renderings[content_type] = rendering
    whole = None if page is None else page(snapshot, now, None)
    return renderings, whole, time.thread_time() - started


def _new_tails(
    snapshot: Snapshot,
    kept: dict[str, Rendering],
    formats: dict[str, Format],
    live: Sequence[Collector],
    stamp: int,
) -> dict[str, Rendering]:
    figures = collect(live)
    return {
        content_type: rendering.with_tail(
            formats[content_type].tail(snapshot.exporter, figures), stamp
        )
        for content_type, rendering in kept.items()
    }


def _filtered(
    fmt: Format, snapshot: Snapshot, names: tuple[str, ...], live: Sequence[Collector]
) -> bytes:
    return fmt.body(snapshot, names, collect(live))


def collect(collectors: Sequence[Collector]) -> list[Metric]:
    return [family for collector in collectors for family in collector.collect()]


def _gzip_head(chunks: tuple[bytes, ...]) -> GzipHead:
    """The gzip stream of the pieces so far (zlib's, written as it goes: no joined copy)."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return GzipHead(b"".join(map(compressor.compress, chunks)), compressor)


def _with_gzip(rendering: Rendering) -> Rendering:
    head = _gzip_head(rendering.head)
    return replace(rendering, gzip_head=head, gzipped=head.finish(rendering.tail))


def _page_with_gzip(page: Page) -> Page:
    return replace(page, gzipped=gzip.compress(page.body, GZIP_LEVEL))
