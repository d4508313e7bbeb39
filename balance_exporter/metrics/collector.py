"""Metric families from a Snapshot: the whole metric contract, and nothing that does I/O."""

from __future__ import annotations

import platform
from collections.abc import Iterable, Iterator
from decimal import Decimal

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from balance_exporter import __version__
from balance_exporter.metrics.snapshot import AccountState, ExporterState, Snapshot, SnapshotStore
from balance_exporter.polling.errors import Reason

ACCOUNT = ["provider", "account"]
MONEY = ["provider", "account", "currency"]
CACHED = "Cached from the last poll; polls run every billing_poll_interval_seconds, not per scrape."


def _gauge(name: str, text: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, f"{text} {CACHED}", labels=labels)


class SnapshotCollector(Collector):
    """Yields the families of one snapshot, or of the snapshot a store holds at collect time."""

    def __init__(self, source: SnapshotStore | Snapshot) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        snapshot = self.source if isinstance(self.source, Snapshot) else self.source.snapshot
        return iter(families(snapshot))

    def describe(self) -> Iterator[Metric]:
        """Every family this collector can yield, so that ``name[]`` filters can find them."""
        return iter(families(Snapshot(0, exporter=ExporterState(True, 0.0))))


def families(snapshot: Snapshot) -> list[Metric]:
    return [*account_families(snapshot.accounts), *exporter_families(snapshot.exporter)]


def account_families(accounts: Iterable[AccountState]) -> list[Metric]:
    """The per-account families, always all of them and in this order, with the samples of
    ``accounts`` (none at all gives every family empty: the headers)."""
    money = {
        "balance": _gauge("billing_balance", "Last trustworthy balance, in major units.", MONEY),
        "credit_limit": _gauge("billing_credit_limit", "Credit limit, where reported.", MONEY),
        "pending": _gauge("billing_pending", "Pending amount, where reported.", MONEY),
        "available_credit": _gauge(
            "billing_available_credit", "Available amount to spend, where reported.", MONEY
        ),
    }
    threshold = _gauge(
        "billing_low_balance_threshold",
        "The configured low-balance alert threshold, in the account's currency.",
        MONEY,
    )
    spent = CounterMetricFamily(
        "billing_spent",
        "Sum of the decreases of the money (available credit where reported, else balance) "
        f"between trustworthy readings, since the exporter started. {CACHED}",
        labels=MONEY,
    )
    topped_up = CounterMetricFamily(
        "billing_topped_up",
        "Sum of the increases of the money (available credit where reported, else balance) "
        f"between trustworthy readings, since the exporter started. {CACHED}",
        labels=MONEY,
    )
    blocked = _gauge(
        "billing_credit_blocked", "1 when the provider says sending is blocked.", ACCOUNT
    )
    degraded = _gauge(
        "billing_degraded", "1 when the provider flagged its last answer as degraded.", ACCOUNT
    )
    ready = _gauge(
        "billing_account_ready", "0 while the provider says the account is in setup.", ACCOUNT
    )
    up = _gauge("billing_up", "1 when the last poll got a valid answer.", ACCOUNT)
    last_success = _gauge(
        "billing_last_success_timestamp_seconds",
        "When the money figures were last refreshed from a trustworthy answer.",
        ACCOUNT,
    )
    last_poll = _gauge(
        "billing_last_poll_timestamp_seconds", "When the last poll finished.", ACCOUNT
    )
    duration = _gauge("billing_poll_duration_seconds", "How long the last poll took.", ACCOUNT)
    interval = _gauge("billing_poll_interval_seconds", "The configured poll interval.", ACCOUNT)
    polls = CounterMetricFamily("billing_polls", f"Polls attempted. {CACHED}", labels=ACCOUNT)
    failures = CounterMetricFamily(
        "billing_poll_failures", f"Failed polls by reason. {CACHED}", labels=[*ACCOUNT, "reason"]
    )
    updated = _gauge(
        "billing_provider_updated_timestamp_seconds",
        "The provider's own as-of time of the last trustworthy figures, where given.",
        ACCOUNT,
    )
    quota_reset = _gauge(
        "billing_quota_reset_timestamp_seconds",
        "When the provider's quota starts afresh, where it says.",
        ACCOUNT,
    )
    info = _gauge(
        "billing_account_info",
        "The provider's id of the account.",
        [*ACCOUNT, "provider_account_id"],
    )

    for account in accounts:
        labels = [account.provider, account.name]
        _account_series(account, labels, money, threshold, blocked, updated, quota_reset)
        if account.ledger is not None:  # both from the first trustworthy figure on, at 0
            ledger = account.ledger
            spent.add_metric([*labels, ledger.currency], float(ledger.spent))
            topped_up.add_metric([*labels, ledger.currency], float(ledger.topped_up))
        if account.ready is not None:  # both known from the first valid answer on
            degraded.add_metric(labels, float(account.degraded))
            ready.add_metric(labels, float(account.ready))
        if account.up is not None:
            up.add_metric(labels, float(account.up))
            last_poll.add_metric(labels, account.last_poll or 0.0)
            duration.add_metric(labels, account.last_duration or 0.0)
        if account.last_success is not None:
            last_success.add_metric(labels, account.last_success)
        interval.add_metric(labels, account.interval)
        polls.add_metric(labels, float(account.polls))
        for reason, count in zip(Reason, account.failures, strict=True):
            failures.add_metric([*labels, reason.value], float(count))
        if account.provider_account_id:
            info.add_metric([*labels, account.provider_account_id], 1.0)

    return [
        *money.values(),
        threshold,
        spent,
        topped_up,
        blocked,
        degraded,
        ready,
        up,
        last_success,
        last_poll,
        duration,
        interval,
        polls,
        failures,
        updated,
        quota_reset,
        info,
    ]


def _account_series(
    account: AccountState,
    labels: list[str],
    money: dict[str, GaugeMetricFamily],
    threshold: GaugeMetricFamily,
    blocked: GaugeMetricFamily,
    updated: GaugeMetricFamily,
    quota_reset: GaugeMetricFamily,
) -> None:
    figures = account.money
    if figures is None:
        return  # never a fake 0 before the first trustworthy reading
    for key, family in money.items():
        value: Decimal | None = getattr(figures, key)
        if value is not None:
            family.add_metric([*labels, figures.currency], float(value))
    for currency, balance in figures.other_balances:  # one series per further currency
        money["balance"].add_metric([*labels, currency], float(balance))
    if account.low_balance is not None:  # labelled like the money it is compared with
        threshold.add_metric([*labels, figures.currency], float(account.low_balance))
    if figures.credit_blocked is not None:
        blocked.add_metric(labels, float(figures.credit_blocked))
    if figures.provider_updated is not None:
        updated.add_metric(labels, figures.provider_updated)
    if figures.quota_reset is not None:
        quota_reset.add_metric(labels, figures.quota_reset)


def exporter_families(exporter: ExporterState) -> list[Metric]:
    build = GaugeMetricFamily(
        "billing_exporter_build_info",
        "Version of balance-exporter and of the Python running it.",
        labels=["version", "python_version"],
    )
    build.add_metric([__version__, platform.python_version()], 1.0)
    reload_ok = GaugeMetricFamily(
        "billing_exporter_config_last_reload_successful",
        "1 when the last configuration (re)load succeeded.",
        value=float(exporter.reload_successful),
    )
    result: list[Metric] = [build, reload_ok]
    if exporter.reload_success_timestamp is not None:
        result.append(
            GaugeMetricFamily(
                "billing_exporter_config_last_reload_success_timestamp_seconds",
                "When the configuration was last loaded successfully.",
                value=exporter.reload_success_timestamp,
            )
        )
    return result
