"""/metrics: rendered once per snapshot change, in either format, compressed on request."""

from __future__ import annotations

import asyncio
import gzip
import random
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fakeclock import FakeClock, wait_until
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector, CollectorRegistry
from support import Client, accounts_in, balances, metric_value, scheduled, serving

from balance_exporter.config.account import AccountConfig
from balance_exporter.metrics import exposition
from balance_exporter.metrics import renderer as renderer_module
from balance_exporter.metrics.collector import SnapshotCollector
from balance_exporter.metrics.exposition import AccountLines, Format, lines_agree
from balance_exporter.metrics.process import LIVE_EVERY
from balance_exporter.metrics.reading import Reading
from balance_exporter.metrics.renderer import (
    MAX_FILTERED,
    MAX_PAGES,
    SPACING_FACTOR,
    MetricsRenderer,
    registry_of,
)
from balance_exporter.metrics.snapshot import Snapshot, SnapshotStore
from balance_exporter.polling.backoff import START_SPREAD
from balance_exporter.polling.errors import PollError, Reason
from balance_exporter.web.server import RENDERER

T0 = 1_767_225_600.0
OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def account(name: str) -> AccountConfig:
    return AccountConfig(name=name, provider="telnyx", interval=60.0, timeout=15.0)


def set_balance(store: SnapshotStore, name: str, balance: str, at: float = T0) -> None:
    reading = Reading(currency="USD", balance=Decimal(balance))
    store.update(name, lambda state: state.with_reading(reading, at, 0.1))


def set_failure(store: SnapshotStore, name: str, at: float = T0) -> None:
    failure = PollError(Reason.TIMEOUT, "no answer")
    store.update(name, lambda state: state.with_failure(failure, at, 0.2))


def one_account(balance: str) -> SnapshotStore:
    """A store with the one account "a", holding ``balance`` USD."""
    store = SnapshotStore()
    store.set_accounts([account("a")])
    set_balance(store, "a", balance)
    return store


def renders(client: Client) -> int:
    return client.app[RENDERER].renders


async def get_metrics(client: Client, **headers: str) -> tuple[str, str]:
    response = await client.get("/metrics", headers=headers)
    assert response.status == 200
    return response.headers["Content-Type"], await response.text()


async def test_metrics_are_not_rendered_again_while_nothing_changed() -> None:
    async with serving(one_account("10.5")) as client:
        assert renders(client) == 0
        _, first = await get_metrics(client)
        _, second = await get_metrics(client)
        _, third = await get_metrics(client)
        assert renders(client) == 1
        assert first == second == third
        assert balances(first) == {"a": 10.5}

        await client.get("/")
        await client.get("/-/ready")
        assert renders(client) == 1  # other pages never render the exposition


async def test_metrics_are_rendered_again_in_the_background_after_a_change() -> None:
    store = one_account("10.5")
    async with serving(store) as client:
        _, before = await get_metrics(client)
        set_balance(store, "a", "9.25", T0 + 60.0)
        await client.app[RENDERER].settled()
        assert renders(client) == 2  # the change alone re-rendered, before any scrape
        _, after = await get_metrics(client)
        await get_metrics(client)
        assert renders(client) == 2
        assert balances(before) == {"a": 10.5}
        assert balances(after) == {"a": 9.25}


async def test_a_scrape_never_pays_for_a_rendering_once_its_format_is_known() -> None:
    store = one_account("10.5")
    async with serving(store) as client:
        renderer = client.app[RENDERER]
        await get_metrics(client)
        await get_metrics(client, Accept=OPENMETRICS)
        blocked = asyncio.Event()
        refresh_started = asyncio.Event()

        async def stalled_refresh() -> None:
            refresh_started.set()
            await blocked.wait()

        renderer._refresh_all = stalled_refresh  # type: ignore[method-assign]
        before = renderer.renders
        set_balance(store, "a", "9.25", T0 + 60.0)
        await refresh_started.wait()
        # While the refresh is held back, scrapes serve the latest rendering and render nothing.
        _, text = await get_metrics(client)
        _, om = await get_metrics(client, Accept=OPENMETRICS)
        assert renderer.renders == before
        assert balances(text) == {"a": 10.5}
        assert "10.5" in om
        blocked.set()


async def test_many_changes_in_a_row_are_coalesced_into_few_renderings() -> None:
    store = SnapshotStore()
    store.set_accounts([account(f"acct-{i}") for i in range(50)])
    async with serving(store) as client:
        await get_metrics(client)
        for i in range(50):
            set_balance(store, f"acct-{i}", str(i))
        await client.app[RENDERER].settled()
        _, text = await get_metrics(client)
        assert renders(client) <= 3
        assert balances(text) == {f"acct-{i}": float(i) for i in range(50)}


async def test_a_poll_that_changes_the_snapshot_triggers_one_new_rendering() -> None:
    clock = FakeClock()
    balance = [Decimal("100")]

    async def poll(account: AccountConfig) -> Reading:
        balance[0] -= 1
        return Reading(currency="USD", balance=balance[0])

    async with scheduled(clock, poll, 1, [account("a")]) as client:
        _, text = await get_metrics(client)
        assert balances(text) == {}
        assert renders(client) == 1

        await clock.advance(START_SPREAD)
        await client.app[RENDERER].settled()
        _, text = await get_metrics(client)
        await get_metrics(client)
        assert balances(text) == {"a": 99.0}
        assert renders(client) == 2

        await clock.advance(2 * 60.0)  # the account's slot comes within two intervals
        await client.app[RENDERER].settled()
        _, text = await get_metrics(client)
        assert balances(text) in ({"a": 98.0}, {"a": 97.0})
        assert renders(client) == 3


async def test_openmetrics_is_negotiated_and_cached_separately() -> None:
    async with serving(one_account("7")) as client:
        plain_type, plain = await get_metrics(client)
        om_type, om = await get_metrics(client, Accept=f"{OPENMETRICS}, text/plain;q=0.5")
        await get_metrics(client)
        await get_metrics(client, Accept=OPENMETRICS)
        assert renders(client) == 1  # the formats Prometheus asks for are rendered together

    assert plain_type == "text/plain; version=0.0.4; charset=utf-8"
    assert om_type.startswith("application/openmetrics-text; version=1.0.0")
    assert om.endswith("# EOF\n")
    assert not plain.rstrip().endswith("# EOF")
    families = {
        family.name: family
        for family in openmetrics_families(om)  # type: ignore[no-untyped-call]
    }
    (balance,) = families["billing_balance"].samples
    assert (balance.value, balance.labels["currency"]) == (7.0, "USD")
    assert families["billing_polls"].type == "counter"
    assert [sample.name for sample in families["billing_polls"].samples] == ["billing_polls_total"]


async def test_gzip_when_the_scraper_asks_for_it() -> None:
    store = SnapshotStore()
    store.set_accounts([account(f"acct-{i}") for i in range(20)])
    async with serving(store, auto_decompress=False) as client:
        plain = await client.get("/metrics", headers={"Accept-Encoding": "identity"})
        plain_body = await plain.read()
        zipped = await client.get("/metrics", headers={"Accept-Encoding": "gzip"})
        zipped_body = await zipped.read()
        assert renders(client) == 1  # one cached body serves every encoding

    assert "Content-Encoding" not in plain.headers
    assert plain.headers["Content-Length"] == str(len(plain_body))  # sent in pieces, all of it
    assert plain.headers["X-Content-Type-Options"] == "nosniff"  # set before a streamed body
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped_body) == plain_body
    assert len(zipped_body) < len(plain_body)


async def test_name_filter_selects_families() -> None:
    async with serving(one_account("3")) as client:
        response = await client.get("/metrics", params={"name[]": "billing_balance"})
        text = await response.text()
        _, everything = await get_metrics(client)
        assert renders(client) == 1  # a filtered body is cut from the kept lines

    (family,) = text_string_to_metric_families(text)
    assert family.name == "billing_balance"
    assert [(sample.labels["account"], sample.value) for sample in family.samples] == [("a", 3.0)]
    assert len(list(text_string_to_metric_families(everything))) > 10


# --- a change costs what changed -----------------------------------------------------------


def lines_of(client: Client) -> AccountLines:
    return client.app[RENDERER]._shared_lines


async def test_a_change_encodes_only_the_account_that_changed() -> None:
    store = SnapshotStore()
    store.set_accounts([account(f"acct-{i:03d}") for i in range(200)])
    async with serving(store) as client:
        await get_metrics(client)
        await get_metrics(client, Accept=OPENMETRICS)
        assert lines_of(client).encoded == 200
        set_balance(store, "acct-007", "1.5")
        await client.app[RENDERER].settled()
        _, text = await get_metrics(client)
        _, om = await get_metrics(client, Accept=OPENMETRICS)

        assert lines_of(client).encoded == 201  # one account, for both formats
        assert balances(text) == {"acct-007": 1.5}
        assert 'billing_balance{account="acct-007",currency="USD",provider="telnyx"} 1.5' in om


def varied_snapshot() -> Snapshot:
    store = SnapshotStore()
    names = ["plain", 'quo"te\\back', "new\nline", "ünï", "setup", "failing", "degraded"]
    store.set_accounts([account(name) for name in names])
    set_balance(store, "plain", "10.25")
    set_balance(store, 'quo"te\\back', "-3")
    store.update(
        "ünï",
        lambda s: s.with_reading(
            Reading(
                currency="EUR",
                balance=Decimal("1"),
                credit_limit=Decimal("50"),
                other_balances=(("USD", Decimal("2")),),
                provider_account_id="id-1",
            ),
            T0,
            0.2,
        ),
    )
    store.update("setup", lambda s: s.with_reading(Reading(ready=False), T0, 0.1))
    store.update("failing", lambda s: s.with_failure(PollError(Reason.AUTH, "no"), T0, 0.3))
    store.update(
        "degraded",
        lambda s: s.with_reading(
            Reading(currency="USD", balance=Decimal("4"), degraded=True), T0, 0.1
        ),
    )
    store.set_reload(True, T0)
    return store.snapshot


@pytest.mark.parametrize("accept", ["", OPENMETRICS])
def test_the_kept_lines_make_the_body_prometheus_client_makes_whole(accept: str) -> None:
    encoder, _ = choose_encoder(accept)
    snapshot = varied_snapshot()
    lines = AccountLines(encoder)
    lines.refresh(snapshot.accounts)
    fmt = Format(encoder, lines)

    assert fmt.body(snapshot) == encoder(registry_of(snapshot))
    for names in (
        ["billing_balance"],
        ["billing_polls_total", "billing_exporter_build_info"],
        ["billing_pending"],
        ["junk"],
        ["billing_up", "billing_up"],
    ):
        restricted = registry_of(snapshot).restricted_registry(names)
        assert fmt.body(snapshot, names) == encoder(restricted), names
    # An account removed, one changed: the kept lines follow.
    fewer = Snapshot(snapshot.generation + 1, snapshot.accounts[1:], snapshot.exporter)
    lines.refresh(fewer.accounts)
    assert fmt.body(fewer) == encoder(registry_of(fewer))


@pytest.mark.parametrize("batch", [exposition.BATCH, 3])
def test_the_kept_lines_follow_any_run_of_changes_additions_removals_and_moves(
    batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lines spliced into the kept sections give, after every refresh, the body
    prometheus_client writes whole: whichever accounts changed, came, went or moved, and
    whether they were encoded in one batch or spliced in batch by batch."""
    monkeypatch.setattr(exposition, "BATCH", batch)
    encoder, _ = choose_encoder(OPENMETRICS)
    rng = random.Random(11)  # noqa: S311 - a repeatable run of changes
    store = SnapshotStore()
    names = [f"acct-{i:02d}" for i in range(12)]
    store.set_accounts([account(name) for name in names])
    lines = AccountLines(encoder)
    fmt = Format(encoder, lines)
    for step in range(60):
        move = rng.random()
        if move < 0.15 and len(names) > 1:
            names.remove(rng.choice(names))
        elif move < 0.3:
            names.insert(rng.randrange(len(names) + 1), f"new-{step}")
        elif move < 0.4:
            rng.shuffle(names)
        store.set_accounts([account(name) for name in names])
        for name in rng.sample(names, k=rng.randint(0, len(names))):
            if rng.random() < 0.2:
                set_failure(store, name, T0 + step)
            else:
                set_balance(store, name, str(rng.randint(-50, 50_000) / 100), T0 + step)
        snapshot = store.snapshot
        lines.refresh(snapshot.accounts)
        assert fmt.body(snapshot) == encoder(registry_of(snapshot)), step


def test_text_and_openmetrics_share_their_sample_lines() -> None:
    text, _ = choose_encoder("")
    openmetrics, _ = choose_encoder(OPENMETRICS)
    assert lines_agree(text, openmetrics)


async def test_junk_name_filters_cost_at_most_a_few_kept_bodies() -> None:
    store = SnapshotStore()
    store.set_accounts([account(f"acct-{i:03d}") for i in range(50)])
    async with serving(store) as client:
        renderer = client.app[RENDERER]
        await get_metrics(client, Accept=OPENMETRICS)
        encoded = lines_of(client).encoded
        for index in range(40):
            response = await client.get("/metrics", params={"name[]": f"junk{index}"})
            assert response.status == 200
            assert "billing_" not in await response.text()
        for index in range(40):  # every real name alone, more than are kept
            await client.get("/metrics", params={"name[]": ["billing_up", f"junk{index}"]})
        _, om = await get_metrics(client, Accept=OPENMETRICS)

        assert len(renderer._filtered) <= MAX_FILTERED
        assert len(renderer._filtered) == 2  # the junk all select the same nothing
        assert lines_of(client).encoded == encoded  # no account was encoded again
        assert renderer.renders == 1
        assert om.endswith("# EOF\n")


async def test_the_pause_after_a_refresh_counts_every_format_in_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spent = [0.0]

    class ThreadClock:
        @staticmethod
        def thread_time() -> float:
            return spent[0]

    real_chunks = Format.chunks

    def costly_chunks(self: Format, *args: Any) -> tuple[bytes, ...]:
        spent[0] += 0.02  # each format's body costs 20 ms of the render thread
        return real_chunks(self, *args)

    monkeypatch.setattr(renderer_module, "time", ThreadClock)
    monkeypatch.setattr(Format, "chunks", costly_chunks)
    async with serving(one_account("1")) as client:
        await get_metrics(client)
        renderer = client.app[RENDERER]
        assert len(renderer._formats) == 2  # text and OpenMetrics, both kept

        assert renderer._spacing == pytest.approx(SPACING_FACTOR * 0.04)


async def test_no_body_is_rendered_for_first_polls_still_coming_unless_asked() -> None:
    store = SnapshotStore()
    store.set_accounts([account("a"), account("b")])
    async with serving(store) as client:
        renderer = client.app[RENDERER]
        set_balance(store, "a", "1")
        assert renderer._refresh is None  # "b" is still waiting for its first poll
        assert renderer.renders == 0
        set_balance(store, "b", "2")  # the last first poll: now the bodies are rendered
        assert renderer._refresh is not None
        await renderer._refresh
        assert renderer.renders == 1
        assert (await client.get("/-/ready")).status == 200


async def test_a_scrape_before_the_first_polls_gets_a_body_at_once() -> None:
    store = SnapshotStore()
    store.set_accounts([account("a"), account("b")])
    async with serving(store) as client:
        set_balance(store, "a", "1")
        _, text = await get_metrics(client)
        assert balances(text) == {"a": 1.0}


# --- the landing page, kept by the same thread ------------------------------------------------


async def test_pages_are_made_in_the_render_thread_and_bounded() -> None:
    store = one_account("1.00")
    made: list[tuple[str, int, object]] = []

    def page(snapshot: Snapshot, now: float, query: object) -> bytes:
        made.append((threading.current_thread().name, snapshot.generation, query))
        return f"{snapshot.generation} {query}".encode()

    renderer = MetricsRenderer(store, page, lambda: T0)
    try:
        whole = await renderer.page(None, want_gzip=False)  # the first refresh makes it
        assert whole.body == f"{store.snapshot.generation} None".encode()
        set_balance(store, "a", "2.00")
        await renderer.settled()  # every refresh makes the whole page again, once asked for
        assert (await renderer.page(None, want_gzip=False)).generation == store.snapshot.generation
        for n in range(3 * MAX_PAGES):
            await renderer.page(("filter", n), want_gzip=False)
        assert len(renderer._pages) == 1 + MAX_PAGES
        assert None in renderer._pages
        zipped = await renderer.page(("filter", 0), want_gzip=True)
        assert zipped.gzipped is not None
        assert gzip.decompress(zipped.gzipped) == zipped.body
    finally:
        await renderer.close()
    assert made
    assert {thread for thread, _, _ in made} == {"render_0"}  # never the event loop's
    assert threading.current_thread().name not in {thread for thread, _, _ in made}
    # A query's page is made from the snapshot the last refresh rendered.
    assert {generation for _, generation, query in made if query is not None} == {
        store.snapshot.generation
    }


async def test_refreshes_stop_making_the_page_once_nobody_looks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = one_account("1.00")
    renderer = MetricsRenderer(store, lambda snapshot, now, query: b"page", lambda: T0)
    try:
        await renderer.page(None, want_gzip=False)
        set_balance(store, "a", "2.00")
        await renderer.settled()
        made = renderer.pages_made
        assert made >= 1
        monkeypatch.setattr(renderer_module, "PAGE_INTEREST", 0.0)  # the last look is long ago
        set_balance(store, "a", "3.00")
        await renderer.settled()
        assert renderer.pages_made == made  # /metrics refreshed, the page not
        await renderer.page(None, want_gzip=False)  # a look makes it on demand
        assert renderer.pages_made == made + 1
    finally:
        await renderer.close()


# --- the process's figures -----------------------------------------------------------------

PROCESS_FAMILIES = {
    "process_cpu_seconds": "counter",
    "process_resident_memory_bytes": "gauge",
    "process_virtual_memory_bytes": "gauge",
    "process_start_time_seconds": "gauge",
    "process_open_fds": "gauge",
    "process_max_fds": "gauge",
    "python_gc_objects_collected": "counter",
    "python_gc_collections": "counter",
}


class Ticking(Collector):
    """A figure that changes at every collection, as the process's CPU seconds do."""

    def __init__(self) -> None:
        self.collections = 0

    def collect(self) -> Iterator[Metric]:
        self.collections += 1
        yield GaugeMetricFamily("test_ticks", "Collections so far.", value=self.collections)


async def test_the_process_families_are_served_in_both_formats() -> None:
    async with serving(one_account("2")) as client:
        _, text = await get_metrics(client)
        _, om = await get_metrics(client, Accept=OPENMETRICS)

    for families in (
        {f.name: f for f in text_string_to_metric_families(text)},
        {f.name: f for f in openmetrics_families(om)},  # type: ignore[no-untyped-call]
    ):
        assert {name: families[name].type for name in PROCESS_FAMILIES} == PROCESS_FAMILIES
        (cpu,) = families["process_cpu_seconds"].samples
        assert cpu.name == "process_cpu_seconds_total"
        assert cpu.value > 0
        (memory,) = families["process_resident_memory_bytes"].samples
        assert memory.value > 1 << 20
        assert "python_info" not in families  # billing_exporter_build_info says it
        assert families["billing_exporter_build_info"].samples
        assert families["billing_balance"].samples[0].value == 2.0
    assert om.endswith("# EOF\n")
    assert om.count("# EOF") == 1  # the process's families come before the end


async def test_the_process_figures_are_rendered_again_on_their_own_never_on_a_scrape() -> None:
    clock = FakeClock()
    store = SnapshotStore()
    store.set_accounts([account(f"acct-{i:03d}") for i in range(200)])
    plain = {"Accept-Encoding": "identity"}
    async with serving(store, clock=clock, auto_decompress=False) as client:
        renderer = client.app[RENDERER]
        ticking = Ticking()
        renderer.live = (ticking,)
        await get_metrics(client, **plain)
        await get_metrics(client, Accept=OPENMETRICS, **plain)
        await client.get("/metrics", headers={"Accept-Encoding": "gzip"})
        collected, encoded = ticking.collections, lines_of(client).encoded
        for _ in range(3):  # scrapes serve the kept bodies: nothing is collected or encoded
            _, text = await get_metrics(client, **plain)
            _, om = await get_metrics(client, Accept=OPENMETRICS, **plain)
        assert ticking.collections == collected
        assert metric_value(text, "test_ticks") == metric_value(om, "test_ticks") == collected

        await clock.advance(LIVE_EVERY)
        await wait_until(lambda: renderer.tail_renders == 1, what="the tails rendered again")
        _, text = await get_metrics(client, **plain)
        _, om = await get_metrics(client, Accept=OPENMETRICS, **plain)
        zipped = await client.get("/metrics", headers={"Accept-Encoding": "gzip"})
        zipped_body = await zipped.read()
        unzipped = await (await client.get("/metrics", headers=plain)).read()

        assert renderer.renders == 1  # the accounts were not rendered again
        assert lines_of(client).encoded == encoded
        assert metric_value(text, "test_ticks") == metric_value(om, "test_ticks") == collected + 1
        assert om.endswith("# EOF\n")
        assert zipped.headers["Content-Encoding"] == "gzip"
        assert zipped.headers["Content-Length"] == str(len(zipped_body))
        assert gzip.decompress(zipped_body) == unzipped  # the kept head, with the new tail
        assert len(accounts_in(unzipped.decode())) == 200


async def test_the_process_families_can_be_selected_by_name() -> None:
    async with serving(one_account("3")) as client:
        response = await client.get("/metrics", params={"name[]": "process_cpu_seconds_total"})
        text = await response.text()

    (family,) = text_string_to_metric_families(text)
    assert (family.name, family.type) == ("process_cpu_seconds", "counter")


@pytest.mark.parametrize("accept", ["", OPENMETRICS])
def test_the_tail_holds_the_live_families_as_prometheus_client_renders_them(accept: str) -> None:
    class Fixed(Collector):
        def collect(self) -> Iterator[Metric]:
            yield GaugeMetricFamily("test_fixed", "A figure that stays.", value=7.0)

    encoder, _ = choose_encoder(accept)
    snapshot = varied_snapshot()
    lines = AccountLines(encoder)
    lines.refresh(snapshot.accounts)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshot))
    registry.register(Fixed())

    live = list(Fixed().collect())
    assert Format(encoder, lines).body(snapshot, None, live) == encoder(registry)
