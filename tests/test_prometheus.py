"""A real Prometheus scraping the demo exporter (a real process) every second.

Everything is read back through Prometheus's HTTP API and compared with the simulator's own
state, read through its control interface (``GET /-/sim/accounts``): the metric contract,
the values of every simulated account, a degraded 23 Telecom answer that never becomes a 0,
and a scrape rate that never reaches the providers.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from subprocess import PIPE
from typing import Any, cast

import aiohttp
import pytest
import pytest_asyncio
from prometheus_harness import (
    ExporterProcess,
    Prometheus,
    Sample,
    free_port,
    require_binary,
    scrape_job,
    wait_until,
)

from balance_exporter import __version__
from balance_exporter.demo import demo_accounts
from balance_exporter.polling.backoff import JITTER
from balance_exporter.polling.errors import Reason
from balance_exporter.providers.registry import BUILT_IN
from balance_exporter.simulator.providers.registry import SIMULATED
from balance_exporter.simulator.scenarios import ReadyAfter

pytestmark = pytest.mark.asyncio(loop_scope="module")

JOB = "demo"
INTERVAL = 15.0  # the demo's poll interval
FIRST_POLLS = 30.0  # seconds for every account's first poll (spread over 10 s) to be scraped
NEXT_POLL = INTERVAL * (1 + JITTER) + 10.0  # one more poll of an account, scraped
SETTLE = 10.0  # a moment with no poll between the simulator's count and Prometheus's
SCRAPES = 5  # scrapes that must happen inside the window of the upstream-respect test

DEMO = {name: account for name, (account, _) in demo_accounts().items()}
ACCOUNT_LABELS = frozenset({"provider", "account"})
MONEY_LABELS = ACCOUNT_LABELS | {"currency"}
CONTRACT: dict[str, frozenset[str]] = {
    "billing_balance": MONEY_LABELS,
    "billing_credit_limit": MONEY_LABELS,
    "billing_pending": MONEY_LABELS,
    "billing_available_credit": MONEY_LABELS,
    "billing_low_balance_threshold": MONEY_LABELS,
    "billing_spent_total": MONEY_LABELS,
    "billing_topped_up_total": MONEY_LABELS,
    "billing_credit_blocked": ACCOUNT_LABELS,
    "billing_degraded": ACCOUNT_LABELS,
    "billing_account_ready": ACCOUNT_LABELS,
    "billing_up": ACCOUNT_LABELS,
    "billing_last_success_timestamp_seconds": ACCOUNT_LABELS,
    "billing_last_poll_timestamp_seconds": ACCOUNT_LABELS,
    "billing_poll_duration_seconds": ACCOUNT_LABELS,
    "billing_poll_interval_seconds": ACCOUNT_LABELS,
    "billing_polls_total": ACCOUNT_LABELS,
    "billing_poll_failures_total": ACCOUNT_LABELS | {"reason"},
    "billing_provider_updated_timestamp_seconds": ACCOUNT_LABELS,
    "billing_quota_reset_timestamp_seconds": ACCOUNT_LABELS,
    "billing_account_info": ACCOUNT_LABELS | {"provider_account_id"},
    "billing_exporter_build_info": frozenset({"version", "python_version"}),
    "billing_exporter_config_last_reload_successful": frozenset(),
    "billing_exporter_config_last_reload_success_timestamp_seconds": frozenset(),
}

SeriesKey = tuple[str, frozenset[tuple[str, str]]]


@dataclass
class Stack:
    exporter: ExporterProcess
    prometheus: Prometheus
    exporter_url: str
    simulator_url: str
    session: aiohttp.ClientSession

    async def simulated(self) -> dict[str, dict[str, Any]]:
        """The simulator's accounts as its control interface shows them."""
        async with self.session.get(f"{self.simulator_url}/-/sim/accounts") as response:
            assert response.status == 200
            return cast(dict[str, dict[str, Any]], await response.json())

    async def change(self, name: str, **change: Any) -> None:
        async with self.session.post(
            f"{self.simulator_url}/-/sim/accounts/{name}", json=change
        ) as response:
            assert response.status == 200, await response.text()

    async def series(self, selector: str = '__name__=~"billing_.*"') -> list[Sample]:
        return await self.prometheus.query(f'{{job="{JOB}",{selector}}}')


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    binary = require_binary("prometheus")
    workdir = tmp_path_factory.mktemp("prometheus-e2e")
    address = f"127.0.0.1:{free_port()}"
    exporter = ExporterProcess("--demo", "--web.listen-address", address, cwd=workdir)
    async with exporter:
        banner = await exporter.output_matching(
            r"simulated providers:\s+(http://\S+)/-/sim/accounts$", within=15.0
        )
        prometheus = Prometheus(workdir / "prometheus", [scrape_job(JOB, [address])], binary=binary)
        async with prometheus, aiohttp.ClientSession() as session:
            yield Stack(exporter, prometheus, f"http://{address}", banner[1], session)
    assert exporter.returncode == 0  # SIGTERM: a clean stop
    for key in (account.key for account in DEMO.values()):
        assert key not in exporter.stderr


def _key(sample: Sample) -> SeriesKey:
    labels = {k: v for k, v in sample.labels.items() if k not in ("__name__", "job", "instance")}
    return sample.labels["__name__"], frozenset(labels.items())


async def all_accounts_scraped(
    prometheus: Prometheus, job: str = JOB, accounts: int = len(DEMO)
) -> None:
    """Until every demo account's first poll is in Prometheus, scraped by ``job``."""

    async def scraped() -> bool:
        return await prometheus.value(f'count(billing_up{{job="{job}"}})') == accounts

    await wait_until(scraped, f"every account's first poll in Prometheus ({job})", FIRST_POLLS)


def expected_series(simulated: dict[str, dict[str, Any]]) -> dict[SeriesKey, float]:
    """What the exporter must show for the simulator's state (its last answers), as each
    simulated provider says its answers read."""
    expected: dict[SeriesKey, float] = {}

    def put(metric: str, value: float | Decimal, **labels: str) -> None:
        expected[f"billing_{metric}", frozenset(labels.items())] = float(value)

    for name, sim in simulated.items():
        demo = DEMO[name]
        provider = SIMULATED[sim["provider"]]
        account = {"provider": sim["provider"], "account": name}
        put("poll_interval_seconds", INTERVAL, **account)
        degraded, setup = sim["state"].startswith("degraded"), sim["state"] == "setup"
        if sim["state"] in provider.failing_states:  # every poll fails
            put("up", 0, **account)
            continue
        put("up", 1, **account)
        put("degraded", degraded, **account)
        put("account_ready", not setup, **account)
        account_id = provider.account_id(demo)
        if account_id is not None:
            put("account_info", 1, **account, provider_account_id=account_id)
        if sim["served"] is None:
            continue  # never a trustworthy answer yet: no money series at all
        shown = provider.shown(demo, Decimal(sim["served"]))
        for metric, amount in shown.money.items():
            put(metric, amount, **account, currency=shown.currency)
        for currency, amount in shown.more_balances.items():
            put("balance", amount, **account, currency=currency)
        for metric, value in shown.other.items():
            put(metric, value, **account)
    return expected


# Figures only some providers give: the demo shows each where its simulated provider says.
OCCASIONAL = (
    "credit_limit",
    "pending",
    "available_credit",
    "credit_blocked",
    "provider_updated_timestamp_seconds",
    "quota_reset_timestamp_seconds",
)


def accounts_by_metric() -> dict[str, set[str]]:
    """The demo accounts each billing_* metric must have a series of, as the simulated
    providers say their answers read."""
    everyone = set(DEMO)
    setup = {
        name
        for name, account in DEMO.items()
        if account.state == "setup" or isinstance(account.scenario, ReadyAfter)
    }
    failing = {
        name
        for name, account in DEMO.items()
        if account.state in SIMULATED[account.provider].failing_states
    }
    answered = everyone - failing
    with_money = answered - setup
    found: dict[str, set[str]] = {
        "billing_balance": with_money,
        # The spend counters count from the first trustworthy figure on.
        "billing_spent_total": with_money,
        "billing_topped_up_total": with_money,
        "billing_degraded": answered,
        "billing_account_ready": answered,
        "billing_up": everyone,
        "billing_last_success_timestamp_seconds": with_money,
        "billing_last_poll_timestamp_seconds": everyone,
        "billing_poll_duration_seconds": everyone,
        "billing_poll_interval_seconds": everyone,
        "billing_polls_total": everyone,
        "billing_poll_failures_total": everyone,
        "billing_account_info": {
            name for name in answered if SIMULATED[DEMO[name].provider].account_id(DEMO[name])
        },
        # Thresholds carry the currency of the money they guard, so they follow the first reading.
        "billing_low_balance_threshold": {
            name for name in with_money if "low_balance" in demo_accounts()[name][1]
        },
    }
    for name in with_money:
        account = DEMO[name]
        shown = SIMULATED[account.provider].shown(account, account.balance)
        for metric in [*shown.money, *shown.other]:
            if metric != "balance":
                found.setdefault(f"billing_{metric}", set()).add(name)
    return {metric: names for metric, names in found.items() if names}


def scraped_contract() -> set[str]:
    """The metrics of the contract the demo has series of: all but the figures no demo
    account's provider gives."""
    occasional = {f"billing_{metric}" for metric in OCCASIONAL}
    return (set(CONTRACT) - occasional) | (set(accounts_by_metric()) & occasional)


COMPARED = {
    "billing_balance",
    "billing_credit_limit",
    "billing_pending",
    "billing_available_credit",
    "billing_credit_blocked",
    "billing_degraded",
    "billing_account_ready",
    "billing_up",
    "billing_provider_updated_timestamp_seconds",
    "billing_quota_reset_timestamp_seconds",
    "billing_account_info",
    "billing_poll_interval_seconds",
}


async def test_every_contract_metric_is_scraped_with_its_labels(stack: Stack) -> None:
    await all_accounts_scraped(stack.prometheus)

    labels: dict[str, set[frozenset[str]]] = defaultdict(set)
    accounts: dict[str, set[str]] = defaultdict(set)
    for sample in await stack.series():
        name = sample.labels["__name__"]
        assert sample.labels["job"] == JOB
        assert sample.labels["instance"] == stack.exporter_url.removeprefix("http://")
        labels[name].add(frozenset(sample.labels) - {"__name__", "job", "instance"})
        if "account" in sample.labels:
            accounts[name].add(sample.labels["account"])

    expected = accounts_by_metric()
    assert accounts == expected
    # Every metric of the contract that some demo account has, with its labels and no others.
    assert set(labels) <= set(CONTRACT), "a billing_* metric outside the contract"
    for name, found in labels.items():
        assert found == {CONTRACT[name]}, name
    always = set(CONTRACT) - {f"billing_{m}" for m in OCCASIONAL}
    assert always <= set(labels), f"missing: {always - set(labels)}"
    reasons = {
        s.labels["reason"] for s in await stack.series('__name__="billing_poll_failures_total"')
    }
    assert reasons == {reason.value for reason in Reason}
    providers = {s.labels["provider"] for s in await stack.series('__name__="billing_up"')}
    assert providers == set(BUILT_IN)  # the demo has an account of every provider
    [build] = await stack.series('__name__="billing_exporter_build_info"')
    assert build.labels["version"] == __version__
    assert build.value == 1
    assert await stack.prometheus.value("billing_exporter_config_last_reload_successful") == 1
    [target] = await stack.prometheus.targets()
    assert (target["scrapeUrl"], target["health"], target["lastError"]) == (
        f"{stack.exporter_url}/metrics",
        "up",
        "",
    )


async def test_values_match_the_simulator(stack: Stack) -> None:
    await all_accounts_scraped(stack.prometheus)
    mismatch: list[str] = []

    async def matches() -> bool:
        simulated = await stack.simulated()
        expected = expected_series(simulated)
        samples = await stack.series()
        found = {_key(s): s.value for s in samples if s.labels["__name__"] in COMPARED}
        failures = {
            _key(s): s.value
            for s in samples
            if s.labels["__name__"] == "billing_poll_failures_total"
        }
        expected_failures = {
            ("billing_poll_failures_total", frozenset(labels)): (
                float(simulated["voice-subaccount"]["requests"])
                if dict(labels)["account"] == "voice-subaccount"
                and dict(labels)["reason"] == "client_error"
                else 0.0
            )
            for _, labels in failures
        }
        mismatch[:] = [
            f"{key}: prometheus {found.get(key)}, simulator {expected.get(key)}"
            for key in sorted(set(found) | set(expected), key=str)
            if found.get(key) != expected.get(key)
        ] + [
            f"{key}: prometheus {value}, expected {expected_failures[key]}"
            for key, value in failures.items()
            if value != expected_failures[key]
        ]
        return not mismatch and len(failures) == len(DEMO) * len(Reason)

    # Balances drain under the demo's scenarios: compare at a moment Prometheus has scraped
    # the exporter since its last poll.
    await wait_until(matches, lambda: "\n".join(mismatch), SETTLE + FIRST_POLLS)

    # The values the simulator serves, spelled out for the accounts that stand still.
    money = await stack.series('__name__="billing_balance"')
    balances = {(s.labels["account"], s.labels["currency"]): s.value for s in money}
    assert balances[("sms-us", "USD")] == -154.29  # a Telnyx credit account: below zero
    assert balances[("voice", "USD")] == 84.27
    assert balances[("bulk-za", "ZAR")] == 1267.92865  # platform API: its own currency
    assert ("bulk", "credits") in balances  # REST API: a number of credits
    assert balances[("search", "USD")] == 7189.245  # You.com: cents to dollars
    assert balances[("sms-uk", "EUR")] == 1250.5
    assert balances[("sms-uk-empty", "EUR")] == 0.0


async def test_degraded_answer_keeps_the_last_good_balance(stack: Stack) -> None:
    account = 'job="demo",account="sms-uk"'

    async def good_reading_scraped() -> bool:
        served = (await stack.simulated())["sms-uk"]["served"]
        balance = await stack.prometheus.value(f"billing_balance{{{account}}}")
        return served is not None and balance == float(served)

    await wait_until(good_reading_scraped, "a good sms-uk reading in Prometheus", FIRST_POLLS)

    await stack.change("sms-uk", scenario=None, state="degraded")

    async def degraded() -> bool:
        return await stack.prometheus.value(f"billing_degraded{{{account}}}") == 1

    await wait_until(degraded, "billing_degraded 1 for sms-uk", NEXT_POLL)

    simulated = (await stack.simulated())["sms-uk"]
    assert simulated["state"] == "degraded"
    assert simulated["served"] == "1250.50"  # the degraded answers said 0; none was trusted
    value = stack.prometheus.value
    assert await value(f'billing_balance{{{account},currency="EUR"}}') == 1250.5
    assert await value(f"billing_up{{{account}}}") == 1  # a degraded answer is a valid answer
    last_success = await value(f"billing_last_success_timestamp_seconds{{{account}}}")
    last_poll = await value(f"billing_last_poll_timestamp_seconds{{{account}}}")
    assert last_success is not None
    assert last_poll is not None
    assert last_success < last_poll  # the degraded poll refreshed no money figure
    # Not a single scrape ever stored a 0 (or anything but the good balance) for it.
    assert await value(f"min_over_time(billing_balance{{{account}}}[1h])") == 1250.5
    assert await value(f"max_over_time(billing_balance{{{account}}}[1h])") == 1250.5


async def test_scrapes_add_no_upstream_request(stack: Stack) -> None:
    await all_accounts_scraped(stack.prometheus)
    snapshots: list[tuple[float, dict[str, int], dict[str, int]]] = []

    async def settled() -> bool:
        """Each account's simulator count equals its billing_polls_total in Prometheus."""
        before = await stack.simulated()
        polls = {
            s.labels["account"]: int(s.value)
            for s in await stack.series('__name__="billing_polls_total"')
        }
        after = await stack.simulated()
        requests = {name: sim["requests"] for name, sim in after.items()}
        if requests != {name: sim["requests"] for name, sim in before.items()}:
            return False  # a poll happened while we looked
        snapshots.append((time.monotonic(), requests, polls))
        return requests == polls

    def last_seen() -> str:
        if not snapshots:
            return "a moment without a poll in flight"
        _, requests, polls = snapshots[-1]
        return f"simulator requests == billing_polls_total; last seen {requests} vs {polls}"

    scrapes = f'count_over_time(up{{job="{JOB}"}}[1h])'
    await wait_until(settled, last_seen, SETTLE)
    started, requests_before, _ = snapshots[-1]
    scrapes_before = await stack.prometheus.value(scrapes)
    assert scrapes_before is not None

    async def scraped_more() -> bool:
        count = await stack.prometheus.value(scrapes)
        return count is not None and count >= scrapes_before + SCRAPES

    await wait_until(scraped_more, f"{SCRAPES} more scrapes", SCRAPES + 10.0)
    await wait_until(settled, last_seen, SETTLE)
    ended, requests_after, _ = snapshots[-1]

    scrapes_after = await stack.prometheus.value(scrapes)
    assert scrapes_after is not None
    assert scrapes_after - scrapes_before >= SCRAPES
    assert await stack.prometheus.value(f'min_over_time(up{{job="{JOB}"}}[1h])') == 1
    # Every request the simulator counted is a poll the exporter made: none came from a
    # scrape. And each account got at most the polls its interval allows in the window.
    most = int((ended - started) / (INTERVAL * (1 - JITTER))) + 1
    for name, count in requests_after.items():
        assert 0 <= count - requests_before[name] <= most, name
    assert most < scrapes_after - scrapes_before


async def test_promtool_finds_nothing_to_say(stack: Stack) -> None:
    promtool = require_binary("promtool")
    await all_accounts_scraped(stack.prometheus)
    async with stack.session.get(f"{stack.exporter_url}/metrics") as response:
        assert response.status == 200
        exposition = await response.read()
    assert b"billing_balance{" in exposition
    process = await asyncio.create_subprocess_exec(
        promtool, "check", "metrics", stdin=PIPE, stdout=PIPE, stderr=PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(exposition), 30)
    assert (process.returncode, stdout, stderr) == (0, b"", b"")


async def test_the_harness_writes_a_config_promtool_accepts(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    prometheus = Prometheus(
        tmp_path,
        [scrape_job("one", ["127.0.0.1:1"]), scrape_job("two", ["127.0.0.1:2"], scheme="https")],
        rule_files={"rules.yml": "groups: []\n"},
        binary="prometheus",
    )
    prometheus.write_files()
    process = await asyncio.create_subprocess_exec(
        promtool, "check", "config", str(prometheus.config_path), stdout=PIPE, stderr=PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, (stdout + stderr).decode()
