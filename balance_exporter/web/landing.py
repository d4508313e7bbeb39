"""The landing page: what this is, where to look, and a table of accounts. Everything escaped."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from html import escape

from balance_exporter import __version__
from balance_exporter.metrics.snapshot import AccountState, Snapshot


def status_of(account: AccountState) -> str:
    if account.up is None:
        return "waiting for first poll"
    if not account.up:
        return f"failing: {account.last_reason.value if account.last_reason else 'error'}"
    if account.ready is False:
        return "in setup"
    if account.degraded:
        return "degraded"
    return "ok"


def _time(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _balance(account: AccountState) -> str:
    money = account.money
    if money is None or money.balance is None:
        return "-"
    return f"{money.balance:f} {money.currency}"


def render_landing(snapshot: Snapshot, telemetry_path: str) -> str:
    rows = "\n".join(
        "<tr>"
        + "".join(
            f"<td>{escape(cell)}</td>"
            for cell in (
                account.provider,
                account.name,
                status_of(account),
                _time(account.last_success),
                _balance(account),
                account.last_error or "",
            )
        )
        + "</tr>"
        for account in snapshot.accounts
    )
    path = escape(telemetry_path, quote=True)
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>balance-exporter</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}</style></head>
<body>
<h1>balance-exporter</h1>
<p>Prometheus exporter for provider balances and credit. Version {escape(__version__)},
Python {escape(platform.python_version())}.</p>
<ul>
<li><a href="{path}">Metrics</a></li>
<li><a href="/-/healthy">Health</a></li>
<li><a href="/-/ready">Readiness</a></li>
</ul>
<h2>Accounts</h2>
<table>
<thead><tr><th>Provider</th><th>Account</th><th>Status</th><th>Last success</th><th>Balance</th>
<th>Last error</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body>
</html>
"""
