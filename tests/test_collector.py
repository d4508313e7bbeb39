"""The metric contract, read back from the exposition with prometheus_client's own parser."""

from __future__ import annotations

import platform
import subprocess
from decimal import Decimal

from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry
from support import FAILURE_REASONS, require_tool

from balance_exporter import __version__
from balance_exporter.config.account import AccountConfig
from balance_exporter.metrics.collector import SnapshotCollector, account_families
from balance_exporter.metrics.reading import Reading
from balance_exporter.metrics.snapshot import SnapshotStore
from balance_exporter.polling.errors import PollError, Reason

T0 = 1_767_225_600.0
MONEY = ["billing_balance", "billing_credit_limit", "billing_pending", "billing_available_credit"]
SPEND = ["billing_spent", "billing_topped_up"]
ACCOUNT_FAMILIES = [
    *MONEY,
    "billing_low_balance_threshold",
    *SPEND,
    "billing_credit_blocked",
    "billing_degraded",
    "billing_account_ready",
    "billing_up",
    "billing_last_success_timestamp_seconds",
    "billing_last_poll_timestamp_seconds",
    "billing_poll_duration_seconds",
    "billing_poll_interval_seconds",
    "billing_polls",
    "billing_poll_failures",
    "billing_provider_updated_timestamp_seconds",
    "billing_quota_reset_timestamp_seconds",
    "billing_account_info",
]

Key = tuple[str, tuple[tuple[str, str], ...]]


def store_with(*names: str, provider: str = "telnyx", interval: float = 300.0) -> SnapshotStore:
    store = SnapshotStore()
    store.set_accounts(
        AccountConfig(name=name, provider=provider, interval=interval, timeout=15.0)
        for name in names
    )
    return store


def full_reading(balance: str = "1234.5678") -> Reading:
    return Reading(
        currency="USD",
        balance=Decimal(balance),
        credit_limit=Decimal("500"),
        pending=Decimal("12.25"),
        available_credit=Decimal("1722.3178"),
        credit_blocked=False,
        provider_updated=T0 - 120.0,
        provider_account_id="f2b1c8a0-acct",
    )


def read(store: SnapshotStore, at: float, duration: float, reading: Reading, name: str) -> None:
    store.update(name, lambda state: state.with_reading(reading, at, duration))


def fail(store: SnapshotStore, at: float, failure: PollError, name: str) -> None:
    store.update(name, lambda state: state.with_failure(failure, at, 0.5))


def exposition(store: SnapshotStore) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(store))
    return generate_latest(registry).decode()


def parsed(store: SnapshotStore) -> list[Metric]:
    return list(text_string_to_metric_families(exposition(store)))


def samples(store: SnapshotStore) -> dict[Key, float]:
    result: dict[Key, float] = {}
    for family in parsed(store):
        for sample in family.samples:
            assert sample.timestamp is None
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in result
            result[key] = sample.value
    return result


def key(name: str, **labels: str) -> Key:
    return (name, tuple(sorted(labels.items())))


def of(found: dict[Key, float], name: str) -> dict[Key, float]:
    return {k: v for k, v in found.items() if k[0] == name}


def test_before_the_first_poll_only_the_plan_and_zero_counters_exist() -> None:
    found = samples(store_with("sms-eu"))
    ids = {"provider": "telnyx", "account": "sms-eu"}
    for name in [*MONEY, "billing_up", "billing_degraded", "billing_account_ready"]:
        assert of(found, name) == {}, name
    assert of(found, "billing_last_success_timestamp_seconds") == {}
    assert found[key("billing_poll_interval_seconds", **ids)] == 300.0
    assert found[key("billing_polls_total", **ids)] == 0.0
    assert of(found, "billing_poll_failures_total") == {
        key("billing_poll_failures_total", **ids, reason=reason): 0.0 for reason in FAILURE_REASONS
    }


def test_a_trustworthy_reading_exports_every_figure_with_its_labels() -> None:
    store = store_with("sms-eu")
    read(store, T0, 0.375, full_reading(), "sms-eu")
    found = samples(store)
    ids = {"provider": "telnyx", "account": "sms-eu"}
    money = {**ids, "currency": "USD"}
    assert of(found, "billing_balance") == {key("billing_balance", **money): 1234.5678}
    assert found[key("billing_credit_limit", **money)] == 500.0
    assert found[key("billing_pending", **money)] == 12.25
    assert found[key("billing_available_credit", **money)] == 1722.3178
    assert found[key("billing_credit_blocked", **ids)] == 0.0
    assert found[key("billing_degraded", **ids)] == 0.0
    assert found[key("billing_account_ready", **ids)] == 1.0
    assert found[key("billing_up", **ids)] == 1.0
    assert found[key("billing_last_success_timestamp_seconds", **ids)] == T0
    assert found[key("billing_last_poll_timestamp_seconds", **ids)] == T0
    assert found[key("billing_poll_duration_seconds", **ids)] == 0.375
    assert found[key("billing_provider_updated_timestamp_seconds", **ids)] == T0 - 120.0
    assert found[key("billing_polls_total", **ids)] == 1.0
    assert of(found, "billing_account_info") == {
        key("billing_account_info", **ids, provider_account_id="f2b1c8a0-acct"): 1.0
    }


def test_money_the_provider_does_not_report_is_absent_not_zero() -> None:
    store = store_with("voice", provider="twilio")
    read(store, T0, 0.1, Reading(currency="EUR", balance=Decimal("-3.07")), "voice")
    found = samples(store)
    labels = {"provider": "twilio", "account": "voice", "currency": "EUR"}
    assert of(found, "billing_balance") == {key("billing_balance", **labels): -3.07}
    for name in ["billing_credit_limit", "billing_pending", "billing_available_credit"]:
        assert of(found, name) == {}
    assert of(found, "billing_credit_blocked") == {}
    assert of(found, "billing_provider_updated_timestamp_seconds") == {}
    assert of(found, "billing_account_info") == {}


def test_a_degraded_reading_keeps_the_last_balance_and_success_time() -> None:
    store = store_with("gw")
    read(store, T0, 0.1, Reading(currency="EUR", balance=Decimal("80.10")), "gw")
    degraded = Reading(currency="EUR", balance=Decimal("0"), degraded=True, degraded_reason="x")
    read(store, T0 + 300.0, 0.2, degraded, "gw")
    found = samples(store)
    ids = {"provider": "telnyx", "account": "gw"}
    assert of(found, "billing_balance") == {key("billing_balance", **ids, currency="EUR"): 80.1}
    assert found[key("billing_last_success_timestamp_seconds", **ids)] == T0
    assert found[key("billing_last_poll_timestamp_seconds", **ids)] == T0 + 300.0
    assert found[key("billing_degraded", **ids)] == 1.0
    assert found[key("billing_up", **ids)] == 1.0
    assert found[key("billing_polls_total", **ids)] == 2.0


def test_a_degraded_first_reading_exports_no_fake_zero() -> None:
    store = store_with("gw")
    read(store, T0, 0.1, Reading(currency="EUR", balance=Decimal("0"), degraded=True), "gw")
    found = samples(store)
    ids = {"provider": "telnyx", "account": "gw"}
    assert of(found, "billing_balance") == {}
    assert of(found, "billing_last_success_timestamp_seconds") == {}
    assert found[key("billing_degraded", **ids)] == 1.0
    assert found[key("billing_up", **ids)] == 1.0


def test_an_account_in_setup_is_not_ready_and_has_no_money() -> None:
    store = store_with("new")
    read(store, T0, 0.1, Reading(ready=False), "new")
    found = samples(store)
    ids = {"provider": "telnyx", "account": "new"}
    assert found[key("billing_account_ready", **ids)] == 0.0
    assert found[key("billing_up", **ids)] == 1.0
    for name in MONEY:
        assert of(found, name) == {}


def test_a_failure_keeps_the_balance_sets_up_0_and_counts_the_reason() -> None:
    store = store_with("sms-eu")
    read(store, T0, 0.1, full_reading("42"), "sms-eu")
    fail(store, T0 + 300.0, PollError(Reason.AUTH, "invalid key", status=401), "sms-eu")
    fail(store, T0 + 600.0, PollError(Reason.TIMEOUT, "no answer"), "sms-eu")
    fail(store, T0 + 900.0, PollError(Reason.TIMEOUT, "no answer"), "sms-eu")
    found = samples(store)
    ids = {"provider": "telnyx", "account": "sms-eu"}
    assert found[key("billing_balance", **ids, currency="USD")] == 42.0
    assert found[key("billing_up", **ids)] == 0.0
    assert found[key("billing_last_success_timestamp_seconds", **ids)] == T0
    assert found[key("billing_last_poll_timestamp_seconds", **ids)] == T0 + 900.0
    assert found[key("billing_polls_total", **ids)] == 4.0
    expected = dict.fromkeys(FAILURE_REASONS, 0.0) | {"auth": 1.0, "timeout": 2.0}
    assert of(found, "billing_poll_failures_total") == {
        key("billing_poll_failures_total", **ids, reason=reason): value
        for reason, value in expected.items()
    }


def test_a_failure_before_any_success_exports_up_0_and_no_money() -> None:
    store = store_with("sms-eu")
    fail(store, T0, PollError(Reason.NETWORK, "refused"), "sms-eu")
    found = samples(store)
    ids = {"provider": "telnyx", "account": "sms-eu"}
    assert found[key("billing_up", **ids)] == 0.0
    assert of(found, "billing_balance") == {}
    assert found[key("billing_poll_failures_total", **ids, reason="network")] == 1.0


def test_a_removed_account_loses_its_series() -> None:
    store = store_with("a", "b")
    read(store, T0, 0.1, full_reading(), "a")
    read(store, T0, 0.1, full_reading(), "b")
    store.set_accounts([AccountConfig(name="a", provider="telnyx", interval=300.0, timeout=15.0)])
    accounts = {labels.get("account") for (_, pairs) in samples(store) for labels in [dict(pairs)]}
    assert accounts == {"a", None}  # None: the exporter's own series


def test_exporter_series() -> None:
    store = store_with()
    store.set_reload(True, T0)
    store.set_reload(False, T0 + 5.0)
    found = samples(store)
    build = key("billing_exporter_build_info", version=__version__)
    build = (build[0], tuple(sorted([*build[1], ("python_version", platform.python_version())])))
    assert found[build] == 1.0
    assert found[key("billing_exporter_config_last_reload_successful")] == 0.0
    assert found[key("billing_exporter_config_last_reload_success_timestamp_seconds")] == T0


def test_help_texts_say_the_values_are_cached() -> None:
    families = {family.name: family for family in parsed(store_with("a"))}
    for name in ACCOUNT_FAMILIES:
        assert "Cached" in families[name].documentation, name
    counters = {name for name, family in families.items() if family.type == "counter"}
    assert counters == {"billing_polls", "billing_poll_failures", *SPEND}


def test_the_account_families_come_in_the_contract_order() -> None:
    assert [family.name for family in account_families(())] == ACCOUNT_FAMILIES


def test_label_values_are_escaped_in_the_exposition() -> None:
    odd = 'we"ird\\name\nline'
    store = store_with(odd)
    read(store, T0, 0.1, Reading(currency="USD", balance=Decimal("1")), odd)
    found = samples(store)
    assert found[key("billing_balance", provider="telnyx", account=odd, currency="USD")] == 1.0


def test_families_can_be_selected_by_name() -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(busy_store()))
    wanted = [
        "billing_polls_total",
        "billing_exporter_config_last_reload_success_timestamp_seconds",
    ]
    text = generate_latest(registry.restricted_registry(wanted)).decode()
    found = {family.name: family for family in text_string_to_metric_families(text)}
    assert sorted(found) == sorted(["billing_polls", wanted[1]])
    assert len(found["billing_polls"].samples) == 6
    assert found[wanted[1]].samples[0].value == T0


def busy_store() -> SnapshotStore:
    """One account in every state the exporter knows."""
    store = store_with("good", "degraded", "setup", "failing", "waiting", "blocked")
    read(store, T0, 0.1, full_reading(), "good")
    read(store, T0, 0.1, full_reading(), "degraded")
    read(store, T0 + 1, 0.1, Reading(currency="USD", degraded=True), "degraded")
    read(store, T0, 0.1, Reading(ready=False), "setup")
    fail(store, T0, PollError(Reason.RATE_LIMITED, "429", retry_after=60.0), "failing")
    blocked = Reading(currency="credits", balance=Decimal("0"), credit_blocked=True)
    read(store, T0, 0.1, blocked, "blocked")
    store.set_reload(True, T0)
    return store


def test_promtool_finds_nothing_to_say_about_the_exposition() -> None:
    promtool = require_tool("promtool", "prometheus")
    text = exposition(busy_store())
    assert "billing_balance{" in text
    result = subprocess.run(  # noqa: S603 - a fixed local tool and arguments
        [promtool, "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_low_balance_threshold_carries_the_money_labels_once_the_currency_is_known() -> None:
    store = SnapshotStore()
    store.set_accounts(
        [
            AccountConfig("sms-eu", "telnyx", 300.0, 15.0, low_balance=Decimal("50")),
            AccountConfig("voice", "telnyx", 300.0, 15.0),
        ]
    )
    assert not any(name == "billing_low_balance_threshold" for name, _ in samples(store))

    read(store, T0, 0.1, full_reading(), "sms-eu")
    read(store, T0, 0.1, full_reading(), "voice")
    thresholds = {
        labels: value
        for (name, labels), value in samples(store).items()
        if name == "billing_low_balance_threshold"
    }
    assert thresholds == {
        (("account", "sms-eu"), ("currency", "USD"), ("provider", "telnyx")): 50.0,
    }


def test_several_balances_of_one_answer_are_one_series_per_currency() -> None:
    store = store_with("chat")
    several = Reading(
        currency="CNY",
        balance=Decimal("110.00"),
        other_balances=(("USD", Decimal("5.25")),),
    )
    read(store, T0, 0.1, several, "chat")
    ids = {"provider": "telnyx", "account": "chat"}
    assert of(samples(store), "billing_balance") == {
        key("billing_balance", **ids, currency="CNY"): 110.0,
        key("billing_balance", **ids, currency="USD"): 5.25,
    }
    # A currency the next answer leaves out loses its series.
    read(store, T0 + 300, 0.1, Reading(currency="CNY", balance=Decimal("100")), "chat")
    assert of(samples(store), "billing_balance") == {
        key("billing_balance", **ids, currency="CNY"): 100.0
    }


def test_a_quota_reset_time_is_exported_where_given() -> None:
    store = store_with("voices", "other")
    read(
        store,
        T0,
        0.1,
        Reading(currency="credits", balance=Decimal(88000), quota_reset=T0 + 9e5),
        "voices",
    )
    read(store, T0, 0.1, Reading(currency="credits", balance=Decimal(5)), "other")
    assert of(samples(store), "billing_quota_reset_timestamp_seconds") == {
        key("billing_quota_reset_timestamp_seconds", provider="telnyx", account="voices"): T0 + 9e5
    }


def spend(store: SnapshotStore) -> dict[Key, float]:
    names = ("billing_spent_total", "billing_topped_up_total")
    return {k: v for k, v in samples(store).items() if k[0] in names}


def test_spend_counters_start_at_0_with_the_first_trustworthy_figure() -> None:
    store = store_with("sms-eu")
    assert spend(store) == {}  # nothing seen yet: no series, not a fake 0
    read(store, T0, 0.1, Reading(currency="EUR", balance=Decimal("80")), "sms-eu")
    money = {"provider": "telnyx", "account": "sms-eu", "currency": "EUR"}
    assert spend(store) == {
        key("billing_spent_total", **money): 0.0,
        key("billing_topped_up_total", **money): 0.0,
    }


def test_spend_counters_follow_the_available_credit_where_reported() -> None:
    store = store_with("sms-eu")
    read(store, T0, 0.1, full_reading("1234.5678"), "sms-eu")  # available credit 1722.3178
    spent_some = Reading(
        currency="USD", balance=Decimal("1000"), available_credit=Decimal("1700.0178")
    )
    read(store, T0 + 300, 0.1, spent_some, "sms-eu")
    topped = Reading(currency="USD", balance=Decimal("900"), available_credit=Decimal("1800.0178"))
    read(store, T0 + 600, 0.1, topped, "sms-eu")
    money = {"provider": "telnyx", "account": "sms-eu", "currency": "USD"}
    assert spend(store) == {
        key("billing_spent_total", **money): 22.3,  # the balance's fall is not counted
        key("billing_topped_up_total", **money): 100.0,
    }
    for family in parsed(store):
        if family.name in SPEND:
            assert family.type == "counter"
            assert [sample.name for sample in family.samples] == [f"{family.name}_total"]
