"""Scrape cost with 1,000 accounts: prometheus_client's own aiohttp handler, which renders on
every scrape (the baseline), against the exporter's /metrics, which serves the latest rendering
and renders again in the background only after a poll changed something.

Run: make bench  (or: python -m bench.scrape [--accounts N] [--scrapes N])
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.aiohttp import make_aiohttp_handler

from balance_exporter.config.account import AccountConfig
from balance_exporter.metrics.reading import Reading
from balance_exporter.metrics.renderer import registry_of
from balance_exporter.metrics.snapshot import AccountState, SnapshotStore
from balance_exporter.web.server import RENDERER, build_app
from bench.common import Column, Timings, no_reload, print_table

Scrape = Callable[[], Awaitable[None]]


def reading_for(index: int) -> Callable[[AccountState], AccountState]:
    reading = Reading(
        currency="USD",
        balance=Decimal(index) + Decimal("0.25"),
        credit_limit=Decimal(100),
        pending=Decimal(10),
        available_credit=Decimal(index) + Decimal(100),
        provider_account_id=f"id-{index}",
    )
    return lambda state: state.with_reading(reading, time.time(), 0.1)


def populated_store(count: int) -> SnapshotStore:
    store = SnapshotStore()
    accounts = [AccountConfig(f"account-{i:04d}", "telnyx", 300.0, 15.0) for i in range(count)]
    store.set_accounts(accounts)
    for index, account in enumerate(accounts):
        store.update(account.name, reading_for(index))
    return store


async def timed(action: Scrape, repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        await action()
        samples.append(time.perf_counter() - started)
    return samples


def scraper(client: TestClient[web.Request, web.Application], gzip: bool) -> Scrape:
    headers = {"Accept-Encoding": "gzip" if gzip else "identity"}

    async def scrape() -> None:
        async with client.get("/metrics", headers=headers) as response:
            await response.read()

    return scrape


async def main(accounts: int, scrapes: int) -> None:
    store = populated_store(accounts)
    baseline_app = web.Application()
    baseline_app.router.add_get("/metrics", make_aiohttp_handler(registry_of(store)))
    app = build_app(store, reload=no_reload)
    renderer = app[RENDERER]
    rows: list[tuple[str, list[float]]] = []

    async with TestClient(TestServer(baseline_app)) as client:
        for gzip in (False, True):
            samples = await timed(scraper(client, gzip), scrapes)
            rows.append((f"library handler{', gzip' if gzip else ''}", samples))

    async with TestClient(TestServer(app)) as client:
        for gzip in (False, True):
            scrape = scraper(client, gzip)
            await scrape()  # the first scrape of a format renders it once
            rows.append(
                (f"exporter, unchanged{', gzip' if gzip else ''}", await timed(scrape, scrapes))
            )

        scrape = scraper(client, True)
        before = renderer.renders

        async def poll_then_scrape() -> None:
            store.update(f"account-{time.perf_counter_ns() % accounts:04d}", reading_for(0))
            await scrape()

        rows.append(
            ("exporter, a poll before each scrape, gzip", await timed(poll_then_scrape, scrapes))
        )
        background = renderer.renders - before

    baseline = Timings.of(rows[1][1]).median
    print_table(
        f"{accounts} accounts, {scrapes} scrapes per row, median and p95 of one scrape",
        "scenario",
        44,
        rows,
        Column("vs baseline", 12, lambda timings: f"{baseline / timings.median:.1f}x"),
    )
    print(f"background renderings during the last row: {background} (of {scrapes} changes)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--scrapes", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(main(args.accounts, args.scrapes))
