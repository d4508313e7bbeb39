"""The landing page at 10,000 accounts: what it costs the render thread, what it weighs, and
the memory the spend ledger and the sparkline figures add per account.

Each account has 32 trustworthy readings (a full sparkline), is below its threshold in part,
and spends a little at each reading, so every row has figures, days to zero and a sparkline.
Timings are the CPU time of one thread, as the render thread spends it: the first page
(every row made), a page after a second's polls (167 accounts changed: 10,000 accounts at
60 s), a filtered page, and the page gzipped.

Run: make bench  (or: python -m bench.landing [--accounts N])
"""

from __future__ import annotations

import argparse
import gc
import gzip
import sys
import time
from collections.abc import Callable
from decimal import Decimal

from balance_exporter.config.account import AccountConfig
from balance_exporter.metrics.reading import Reading
from balance_exporter.metrics.snapshot import HISTORY, AccountState, Ledger, SnapshotStore
from balance_exporter.runtime import collect_garbage_rarely
from balance_exporter.web.landing import Filters, LandingPage
from balance_exporter.web.status import Status

T0 = 1_767_225_600.0
INTERVAL = 60.0
POLLS_PER_SECOND = 167


def name(index: int) -> str:
    return f"account-{index:05d}"


def reading(index: int, step: int) -> Callable[[AccountState], AccountState]:
    answer = Reading(currency="USD", balance=Decimal(800 + index % 400) - Decimal(step) / 4)
    at = T0 + step * INTERVAL
    return lambda state: state.with_reading(answer, at, 0.1, at + INTERVAL)


def populated(count: int) -> SnapshotStore:
    store = SnapshotStore()
    store.set_accounts(
        AccountConfig(name(i), "telnyx", INTERVAL, 15.0, low_balance=Decimal(900))
        for i in range(count)
    )
    for step in range(HISTORY):
        for index in range(count):
            store.update(name(index), reading(index, step))
    return store


def ledger_bytes(ledger: Ledger) -> int:
    """What a ledger holds of its own (its figure is the money's, shared)."""
    parts = (ledger, ledger.history, ledger.spent, ledger.topped_up, ledger.since)
    return sum(map(sys.getsizeof, parts))


def cpu(action: Callable[[], bytes]) -> tuple[float, bytes]:
    started = time.thread_time()
    body = action()
    return time.thread_time() - started, body


def main(accounts: int) -> None:
    collect_garbage_rarely()  # as the daemon runs
    store = populated(accounts)
    gc.freeze()
    states = store.snapshot.accounts
    ledgers = sum(ledger_bytes(s.ledger) for s in states if s.ledger is not None) / accounts
    page = LandingPage()
    now = T0 + HISTORY * INTERVAL
    first, body = cpu(lambda: page.render(store.snapshot, now))
    kept_rows = sum(len(row) for _, _, _, row in page._rows.values())
    for index in range(0, accounts, max(1, accounts // POLLS_PER_SECOND)):
        store.update(name(index), reading(index, HISTORY))
    made = page.made
    again, _ = cpu(lambda: page.render(store.snapshot, now))
    remade = page.made - made
    low = Filters(statuses=frozenset({Status.BELOW_THRESHOLD}))
    filtered, some = cpu(lambda: page.render(store.snapshot, now, low))
    zipping, zipped = cpu(lambda: gzip.compress(body, 1))
    print(f"landing page of {accounts:,} accounts (CPU time of one thread)")
    print(f"  first page, every row made        {first * 1000:9.1f} ms")
    print(f"  after a second's polls ({remade} rows)  {again * 1000:9.1f} ms")
    print(f"  ?status=below-threshold           {filtered * 1000:9.1f} ms, {len(some):,} bytes")
    print(f"  gzip of the whole page            {zipping * 1000:9.1f} ms")
    print(f"  whole page                        {len(body):12,} bytes, {len(zipped):,} gzipped")
    print(f"  rows kept between pages           {kept_rows:12,} bytes")
    print(f"  spend ledger with 32 figures      {ledgers:12,.0f} bytes per account")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    main(parser.parse_args().accounts)
