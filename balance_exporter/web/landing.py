"""The landing page: each account's status as the metrics tell it, worst first, with its money,
its spending and its polls. No script; everything from the configuration or a provider escaped.

A page of 10,000 accounts is made in the renderer's thread, never on the event loop, and row by
row: an account's row is made again only when its state changed, or the passing time made its
figures stale, so a page costs the rows of the polls since the last one, a sort and a join.
"""

from __future__ import annotations

import platform
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from html import escape
from urllib.parse import urlencode

from balance_exporter import __version__
from balance_exporter.config.durations import format_duration
from balance_exporter.metrics.snapshot import AccountState, Snapshot
from balance_exporter.providers.registry import PROVIDERS
from balance_exporter.web.money import format_amount
from balance_exporter.web.sparkline import sparkline
from balance_exporter.web.status import (
    BY_SLUG,
    Status,
    conditions,
    days_to_zero,
    is_stale,
)

NONE = "—"  # a figure the provider does not report, or that is not known yet
FILTERS = ("provider", "status")
COLUMNS = (
    "Status",
    "Account",
    "Provider",
    "Balance",
    "Available credit",
    "Credit limit",
    "Threshold",
    "Days to zero",
    "Last figures",
    "Last success",
    "Next poll",
    "Interval",
    "Details",
)
# Colour and word together: the word is the status, the colour only repeats it. Columns by
# position (amounts 4-8, interval 12 to the right), so that rows carry no attributes but one.
STYLE = """body{font-family:sans-serif;margin:1.5em;color:#1b1b1b}
table{border-collapse:collapse;font-size:.9em}
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
td:nth-child(n+4):nth-child(-n+8),td:nth-child(12){text-align:right}
td:nth-child(n+4):nth-child(-n+12){white-space:nowrap}
td:first-child{font-weight:bold;white-space:nowrap}
tr.blocked td:first-child{background:#8b0000;color:#fff}
tr.below-threshold td:first-child{background:#c62828;color:#fff}
tr.failing td:first-child{background:#e65100;color:#fff}
tr.stale td:first-child{background:#f9a825}
tr.degraded td:first-child{background:#fdd835}
tr.setup td:first-child,tr.waiting td:first-child{background:#90caf9}
tr.ok td:first-child{background:#2e7d32;color:#fff}
polyline{fill:none;stroke:#1565c0;stroke-width:15}
ul.summary{list-style:none;padding:0}ul.summary li{display:inline;margin-right:1em}"""


class BadFilter(ValueError):
    """A query the page cannot filter by; its text is one line for the answer."""


@dataclass(frozen=True, slots=True)
class Filters:
    """The rows a ``?provider=`` / ``?status=`` query keeps (several values of one: any)."""

    providers: frozenset[str] = frozenset()
    statuses: frozenset[Status] = frozenset()

    def keeps(self, provider: str, status: Status) -> bool:
        return (not self.providers or provider in self.providers) and (
            not self.statuses or status in self.statuses
        )

    def describe(self) -> str:
        parts = [f"provider {', '.join(sorted(self.providers))}"] if self.providers else []
        if self.statuses:
            words = [status.value for status in Status if status in self.statuses]
            parts.append(f"status {', '.join(words)}")
        return "; ".join(parts)


def parse_filters(query: Iterable[tuple[str, str]]) -> Filters | None:
    """The filters of a query string (other keys are ignored); None for the whole page. Only
    known values are accepted, so the pages a query can ask for are few."""
    providers: set[str] = set()
    statuses: set[Status] = set()
    for key, value in query:
        if key == "provider":
            if value not in PROVIDERS:
                raise BadFilter(
                    f"unknown provider {value[:40]!r}: one of {', '.join(sorted(PROVIDERS))}"
                )
            providers.add(value)
        elif key == "status":
            status = BY_SLUG.get(value)
            if status is None:
                raise BadFilter(f"unknown status {value[:40]!r}: one of {', '.join(BY_SLUG)}")
            statuses.add(status)
    if not providers and not statuses:
        return None
    return Filters(frozenset(providers), frozenset(statuses))


def when(timestamp: float | None, missing: str = "never") -> str:
    if timestamp is None:
        return missing
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _amount(amount: Decimal | None, currency: str | None) -> str:
    return NONE if amount is None else format_amount(amount, currency)


def _days(days: float | None) -> str:
    if days is None:
        return NONE
    if days >= 10:
        return f"{days:,.0f}"
    return f"{days:.1f}" if days >= 1 else f"{days:.2g}"  # 0.079: hours, not 0.0


def details(account: AccountState, found: Sequence[Status]) -> str:
    """What each status of the account is about, in words (unescaped)."""
    money = account.money
    currency = money.currency if money else None
    said: list[str] = []
    for status in found:
        if status is Status.BLOCKED:
            said.append("the provider says sending is blocked")
        elif status is Status.BELOW_THRESHOLD and money is not None:
            name = "balance" if money.available_credit is None else "available credit"
            said.append(
                f"{name} {_amount(money.figure, currency)} is below the threshold "
                f"{_amount(account.low_balance, currency)}"
            )
        elif status is Status.FAILING:
            reason = account.last_reason.value if account.last_reason else "error"
            said.append(
                f"failing ({reason}) since {when(account.failing_since)}, "
                f"next try {when(account.next_poll, NONE)}: {account.last_error or ''}"
            )
        elif status is Status.STALE:
            said.append(f"no trustworthy reading since {when(account.last_success)}")
        elif status is Status.DEGRADED:
            reason = account.degraded_reason or "no reason given"
            said.append(f"the provider flags its answer as degraded: {reason}")
        elif status is Status.SETUP:
            said.append("the provider says the account is being set up")
        elif status is Status.WAITING:
            said.append(f"first poll at {when(account.next_poll, NONE)}")
    if account.note:
        said.append(account.note)
    return "; ".join(said)


def row(account: AccountState, now: float) -> tuple[Status, bytes]:
    """The account's status and its table row."""
    found = conditions(account, now)
    status = found[0]
    money = account.money
    currency = money.currency if money else None
    ledger = account.ledger
    figures = ledger.figures if ledger is not None and ledger.currency == currency else ()
    spark = ""
    if len(figures) > 1:
        # Kept in single precision: seven digits are what they hold.
        low, high = (Decimal(f"{value:.7g}") for value in (min(figures), max(figures)))
        label = f"last {len(figures)} figures, from {_amount(low, currency)} to "
        spark = sparkline(figures, escape(label + _amount(high, currency), quote=True))
    cells = (
        status.value,
        account.name,
        account.provider,
        _amount(money.balance if money else None, currency),
        _amount(money.available_credit if money else None, currency),
        _amount(money.credit_limit if money else None, currency),
        _amount(account.low_balance, currency),
        _days(days_to_zero(account)),
    )
    html = [f'<tr class="{status.slug}">', *(f"<td>{escape(text)}</td>" for text in cells)]
    html.append(f"<td>{spark}</td>")
    for text in (
        when(account.last_success),
        when(account.next_poll, NONE),
        format_duration(account.interval),
        details(account, found),
    ):
        html.append(f"<td>{escape(text)}</td>")
    html.append("</tr>\n")
    return status, "".join(html).encode()


class LandingPage:
    """The page of a snapshot, kept row by row between two pages. Used by one thread at a time
    (the renderer's): not thread-safe, and needs not be."""

    def __init__(self, telemetry_path: str = "/metrics") -> None:
        self.telemetry_path = telemetry_path
        # Account name -> the state and staleness its row shows, its status and the row.
        self._rows: dict[str, tuple[AccountState, bool, Status, bytes]] = {}
        self.made = 0  # rows made so far; tests read it

    def render(self, snapshot: Snapshot, now: float, filters: Filters | None = None) -> bytes:
        entries = self._refresh(snapshot.accounts, now)
        counts = Counter(status for _, status, _ in entries)
        providers = Counter(provider for provider, _, _ in entries)
        kept = [entry for entry in entries if filters is None or filters.keeps(*entry[:2])]
        kept.sort(key=lambda entry: entry[1].rank)  # worst first; stable: config order after
        head = self._head(now, len(entries), len(kept), counts, providers, filters)
        return b"".join([head.encode(), *(entry[2] for entry in kept), TAIL.encode()])

    def _refresh(
        self, accounts: Sequence[AccountState], now: float
    ) -> list[tuple[str, Status, bytes]]:
        rows = self._rows
        fresh: dict[str, tuple[AccountState, bool, Status, bytes]] = {}
        entries = []
        for account in accounts:
            stale = is_stale(account, now)
            known = rows.get(account.name)
            if known is None or known[0] is not account or known[1] != stale:
                status, html = row(account, now)
                known = (account, stale, status, html)
                self.made += 1
            fresh[account.name] = known
            entries.append((account.provider, known[2], known[3]))
        self._rows = fresh  # removed accounts' rows go
        return entries

    def _head(
        self,
        now: float,
        total: int,
        shown: int,
        counts: Counter[Status],
        providers: Counter[str],
        filters: Filters | None,
    ) -> str:
        path = escape(self.telemetry_path, quote=True)
        summary = "".join(
            f'<li><a href="?{escape(urlencode({"status": status.slug}), quote=True)}">'
            f"{counts[status]} {escape(status.value)}</a></li>"
            for status in Status
            if counts[status]
        )
        by_provider = "".join(
            f'<li><a href="?{escape(urlencode({"provider": name}), quote=True)}">'
            f"{escape(name)} ({count})</a></li>"
            for name, count in sorted(providers.items())
        )
        if filters is None:
            showing = f"All {total} accounts, worst first."
        else:
            showing = (
                f"{shown} of {total} accounts ({escape(filters.describe())}), worst first. "
                '<a href="?">Show all</a>.'
            )
        header = "".join(f"<th>{column}</th>" for column in COLUMNS)
        return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>balance-exporter</title>
<style>{STYLE}</style></head>
<body>
<h1>balance-exporter</h1>
<p>Prometheus exporter for provider balances and credit. Version {escape(__version__)},
Python {escape(platform.python_version())}. As of {when(now)}.</p>
<ul>
<li><a href="{path}">Metrics</a></li>
<li><a href="/-/healthy">Health</a></li>
<li><a href="/-/ready">Readiness</a></li>
</ul>
<h2>Accounts</h2>
<ul class="summary">{summary}</ul>
<ul class="summary">{by_provider}</ul>
<p>{showing}</p>
<table>
<thead><tr>{header}</tr></thead>
<tbody>
"""


TAIL = """</tbody>
</table>
</body>
</html>
"""
