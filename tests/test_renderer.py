"""/metrics: rendered once per snapshot change, in either format, compressed on request."""

from __future__ import annotations

import asyncio
import gzip
from decimal import Decimal
from typing import Any

from fakeclock import FakeClock
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families
from support import Client, balances, scheduled, serving

from balance_exporter.config.account import AccountConfig
from balance_exporter.metrics.reading import Reading
from balance_exporter.metrics.snapshot import SnapshotStore
from balance_exporter.polling.backoff import START_SPREAD
from balance_exporter.web.server import RENDERER

T0 = 1_767_225_600.0
OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def account(name: str) -> AccountConfig:
    return AccountConfig(name=name, provider="telnyx", interval=60.0, timeout=15.0)


def set_balance(store: SnapshotStore, name: str, balance: str, at: float = T0) -> None:
    reading = Reading(currency="USD", balance=Decimal(balance))
    store.update(name, lambda state: state.with_reading(reading, at, 0.1))


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
        calls: list[int] = []
        original = renderer._render

        async def counting(*args: Any) -> Any:
            calls.append(1)
            return await original(*args)

        renderer._render = counting  # type: ignore[method-assign,assignment]
        blocked = asyncio.Event()
        refresh_started = asyncio.Event()

        async def stalled_refresh() -> None:
            refresh_started.set()
            await blocked.wait()

        renderer._refresh_all = stalled_refresh  # type: ignore[method-assign]
        set_balance(store, "a", "9.25", T0 + 60.0)
        await refresh_started.wait()
        # While the refresh is held back, scrapes serve the latest rendering and render nothing.
        _, text = await get_metrics(client)
        await get_metrics(client)
        assert calls == []
        assert balances(text) == {"a": 10.5}
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

        await clock.advance(60.0 * 1.05)
        await client.app[RENDERER].settled()
        _, text = await get_metrics(client)
        assert balances(text) == {"a": 98.0}
        assert renders(client) == 3


async def test_openmetrics_is_negotiated_and_cached_separately() -> None:
    async with serving(one_account("7")) as client:
        plain_type, plain = await get_metrics(client)
        om_type, om = await get_metrics(client, Accept=f"{OPENMETRICS}, text/plain;q=0.5")
        await get_metrics(client)
        await get_metrics(client, Accept=OPENMETRICS)
        assert renders(client) == 2  # once per format

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
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped_body) == plain_body
    assert len(zipped_body) < len(plain_body)


async def test_name_filter_selects_families() -> None:
    async with serving(one_account("3")) as client:
        response = await client.get("/metrics", params={"name[]": "billing_balance"})
        text = await response.text()
        _, everything = await get_metrics(client)
        assert renders(client) == 2

    (family,) = text_string_to_metric_families(text)
    assert family.name == "billing_balance"
    assert [(sample.labels["account"], sample.value) for sample in family.samples] == [("a", 3.0)]
    assert len(list(text_string_to_metric_families(everything))) > 10
