"""The Grafana dashboard and its provisioning, checked against a real Prometheus.

The structural tests read deploy/grafana/: the dashboard JSON model, its variables, that no
query adds up money in different currencies, and that the provisioning files point at the
compose stack's Prometheus and at the folder compose mounts the dashboards in.

The end-to-end tests run every query of the dashboard, as Grafana would send it, against a
real Prometheus (Debian's package) scraping a real exporter process every second. The
exporter polls the demo's simulated accounts (balance_exporter.demo: the same accounts and 15 s
interval as ``balance-exporter --demo``, with sms-eu and bulk draining) with a low-balance
threshold on each account, which the demo does not configure, so that the threshold lines
have data too; the rate-limit bursts and degraded spells that start after a minute or so are
switched off, so that the states the status panels show are known whatever the run's pace.
Template
variables are substituted the way Grafana's Prometheus data source does: "All" is the
variables' ``allValue`` (``.*``), a selection is an escaped regex alternation, a repeated
panel gets one value per copy; the variables' ``label_values`` queries go to the label
values API. Every panel copy and every target must return data without error.

The spend panels read billing_spent_total and billing_topped_up_total. Against an exporter
that does not export those counters yet, their queries must still run without error and
return nothing; once it does, they must return data like every other panel.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import pytest
import pytest_asyncio
import yaml
from prometheus_harness import (
    ExporterProcess,
    Prometheus,
    free_port,
    require_binary,
    scrape_job,
    wait_until,
)
from test_prometheus import all_accounts_scraped

from balance_exporter.demo import demo_accounts, demo_config_text, start_simulator
from balance_exporter.polling.errors import Reason
from balance_exporter.simulator import Simulator

REPO = Path(__file__).resolve().parent.parent
GRAFANA = REPO / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "balance-exporter.json"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDERS = GRAFANA / "provisioning" / "dashboards" / "balance-exporter.yml"
COMPOSE = REPO / "deploy" / "compose" / "docker-compose.yml"
COMPOSE_PROMETHEUS = REPO / "deploy" / "prometheus" / "prometheus.yml"

DASHBOARD_FOLDER = "/var/lib/grafana/dashboards"  # where compose mounts deploy/grafana/dashboards
PROMETHEUS_URL = "http://prometheus:9090"  # compose's Prometheus service on its default port
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
PANEL_TYPES = {"stat", "table", "timeseries", "bargauge"}
GRID_WIDTH = 24
BALANCES = "Balance and available credit in $currency"
FORECAST = "Days to zero at the last day's spend"
SPEND = "Spend per day in $currency"
# The demo accounts that spend, with the currency of their money; the rest stand still.
DRAINING = {"sms-eu": "USD", "bulk": "credits"}

JOB = "demo"
# The panels are checked on the demo accounts of these providers, whose states the checks
# below name; every provider's series have the same names and labels, so the queries that
# pass here serve them all.
PROVIDERS = {"telnyx", "twilio", "clickatell", "youcom", "23telecom"}
DEMO = {name: demo for name, demo in demo_accounts().items() if demo[0].provider in PROVIDERS}
STILL = {"bulk-za", "sms-uk"}  # their rate-limit bursts and degraded spells are switched off
CURRENCIES = {"USD", "credits", "ZAR", "EUR"}  # of the demo accounts that report money
INTERVAL = 15.0  # the demo's poll interval
# Low-balance thresholds the test config adds to the demo accounts (in their currency).
THRESHOLDS = {
    "sms-eu": 150,
    "sms-us": 100,
    "voice": 20,
    "voice-subaccount": 20,
    "bulk": 1000,
    "bulk-za": 500,
    "search": 1000,
    "search-team2": 1000,
    "sms-uk": 100,
    "sms-uk-onboarding": 25,
    "sms-uk-empty": 25,
}
DEFAULT_THRESHOLD = 10

# What Grafana puts in place of its built-in variables, for a dashboard range of a few minutes
# over 1 s scrapes: [1m] windows hold plenty of samples for rate() and increase().
BUILTINS = {"__rate_interval": "1m", "__interval": "15s", "__range": "5m"}
ALL = ".*"  # the allValue of every query variable
RANGE = 300.0  # seconds a range query looks back (clipped to when Prometheus started)
STEP = 5.0  # seconds between the points of a range query
DATA_DEADLINE = 90.0  # seconds for every query to have data (two polls of a draining account)

# The selection used to check that queries follow the variables, and what it leaves.
SELECTED_PROVIDERS = ["telnyx", "23telecom"]
SELECTED_ACCOUNTS = ["sms-eu", "sms-uk", "voice"]  # voice is Twilio's: the provider drops it
SELECTED_LEFT = {"sms-eu", "sms-uk"}
ACCOUNTS_OF_SELECTED_PROVIDERS = {"sms-eu", "sms-us", "sms-uk", "sms-uk-onboarding", "sms-uk-empty"}

# --- the dashboard model -----------------------------------------------------------------


def dashboard() -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(DASHBOARD.read_text(encoding="utf-8")))


def load_yaml(path: Path) -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load(path.read_text(encoding="utf-8")))


def query_panels(model: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every panel but rows, those inside collapsed rows included."""
    found: list[dict[str, Any]] = []
    for panel in model["panels"]:
        if panel["type"] == "row":
            found.extend(panel.get("panels", []))
        else:
            found.append(panel)
    return found


def panel(model: Mapping[str, Any], title: str) -> dict[str, Any]:
    [match] = [p for p in query_panels(model) if p["title"] == title]
    return match


def variables(model: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in model["templating"]["list"]}


def variable_query(variable: Mapping[str, Any]) -> str:
    query = variable["query"]
    return str(query["query"] if isinstance(query, dict) else query)


def spend_panels(model: Mapping[str, Any]) -> set[str]:
    """The titles of the panels that read the spend counters."""
    return {
        p["title"]
        for p in query_panels(model)
        if any(SPEND_COUNTER.search(target["expr"]) for target in p["targets"])
    }


def expressions(model: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for p in query_panels(model):
        for target in p["targets"]:
            yield f"{p['title']} / {target['refId']}", target["expr"]


# --- PromQL checks that need no Prometheus -------------------------------------------------

MONEY_METRIC = re.compile(
    r"\bbilling_(?:balance|available_credit|credit_limit|pending|low_balance_threshold"
    r"|spent_total|topped_up_total)\b"
)
SPEND_COUNTER = re.compile(r"\bbilling_(?:spent|topped_up)_total\b")
# Aggregations that combine series (topk and bottomk only pick series, labels and all).
AGGREGATION = re.compile(
    r"\b(sum|avg|min|max|count_values|count|group|stddev|stdvar|quantile)\s*"
    r"(?:(by|without)\s*\(([^)]*)\)\s*)?\("
)
GROUPING = re.compile(r"\s*(by|without)\s*\(([^)]*)\)")
VECTOR_MATCHING = re.compile(r"\b(on|ignoring)\s*\(([^)]*)\)")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
SELECTOR = re.compile(r"\b(billing_\w+)(\{[^}]*\})?")


def without_strings(expr: str) -> str:
    """The expression with every string literal blanked (same length): parentheses and
    keywords inside label values are not PromQL."""
    return STRING.sub(lambda match: '"' + " " * (len(match[0]) - 2) + '"', expr)


def closing(expr: str, opening: int) -> int:
    """The index just past the parenthesis that closes the one at ``opening``."""
    depth = 0
    for index in range(opening, len(expr)):
        depth += {"(": 1, ")": -1}.get(expr[index], 0)
        if depth == 0:
            return index + 1
    raise ValueError(f"unbalanced parentheses in {expr!r}")


def labels_of(text: str | None) -> set[str]:
    return {label.strip() for label in (text or "").split(",") if label.strip()}


def currency_problems(expr: str) -> list[str]:
    """Where ``expr`` combines money of different currencies: an aggregation over a money
    metric that does not keep ``currency``, or vector matching that ignores it."""
    code = without_strings(expr)
    problems: list[str] = []
    for match in AGGREGATION.finditer(code):
        end = closing(code, match.end() - 1)
        if not MONEY_METRIC.search(code[match.end() : end]):
            continue
        clause, grouped = match[2], match[3]
        if clause is None and (after := GROUPING.match(code, end)) is not None:
            clause, grouped = after[1], after[2]
        kept = labels_of(grouped)
        if (clause == "by" and "currency" in kept) or (
            clause == "without" and "currency" not in kept
        ):
            continue
        problems.append(f"{code[match.start() : end]!r} drops the currency label")
    if MONEY_METRIC.search(code):
        for match in VECTOR_MATCHING.finditer(code):
            if (match[1] == "ignoring") == ("currency" in labels_of(match[2])):
                problems.append(f"{match[0]!r} matches money across currencies")
    return problems


# --- Grafana's variable substitution -------------------------------------------------------

VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")
REGEX_SPECIAL = re.compile(r"[$^*{}\[\]'+?.()|]")


def regex_value(values: Sequence[str]) -> str:
    """A multi-value variable's selection as Grafana's Prometheus data source writes it into
    a query: each value regex-escaped (inside a PromQL string), several as an alternation."""
    escaped = [REGEX_SPECIAL.sub(r"\\\\\g<0>", v.replace("\\", "\\\\\\\\")) for v in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def interpolate(text: str, values: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match[1] or match[2]
        if name not in values:
            raise AssertionError(f"${name} is no variable of the dashboard: {text!r}")
        return values[name]

    return VARIABLE.sub(value, text)


LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*(?P<label>\w+)\s*\)$", re.S)


@dataclass(frozen=True)
class Query:
    panel: str
    ref: str
    copy: str | None  # the repeat variable's value of this copy of a repeated panel
    expr: str
    instant: bool


def queries(
    model: Mapping[str, Any], values: Mapping[str, str], chosen: Mapping[str, list[str]]
) -> list[Query]:
    """Every target of every panel copy, interpolated as Grafana would send it."""
    found: list[Query] = []
    for p in query_panels(model):
        repeat: str | None = p.get("repeat")
        copies: list[str | None] = list(chosen[repeat]) if repeat else [None]
        for copy in copies:
            scope = {**values, **BUILTINS}
            if repeat is not None and copy is not None:
                scope[repeat] = regex_value([copy])
            for target in p["targets"]:
                found.append(
                    Query(
                        p["title"],
                        target["refId"],
                        copy,
                        interpolate(target["expr"], scope),
                        bool(target.get("instant")),
                    )
                )
    return found


# --- structural tests -------------------------------------------------------------------


def test_the_dashboard_is_a_grafana_dashboard_model() -> None:
    model = dashboard()
    assert model["uid"] == "balance-exporter"
    assert model["title"]
    assert 36 <= model["schemaVersion"] <= 41
    assert model["id"] is None  # provisioned: Grafana assigns the id
    ids = [p["id"] for p in model["panels"]] + [
        p["id"] for row in model["panels"] if row["type"] == "row" for p in row.get("panels", [])
    ]
    assert len(ids) == len(set(ids)), "panel ids must be unique"

    cells: dict[tuple[int, int], str] = {}
    for p in model["panels"]:
        grid = p["gridPos"]
        assert min(grid["x"], grid["y"]) >= 0, p["title"]
        assert min(grid["w"], grid["h"]) > 0, p["title"]
        assert grid["x"] + grid["w"] <= GRID_WIDTH, p["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{p['title']} overlaps {cells[x, y]}"
                cells[x, y] = p["title"]

    for p in query_panels(model):
        assert p["type"] in PANEL_TYPES, p["title"]
        assert p["datasource"] == DATASOURCE, p["title"]
        assert p["targets"], p["title"]
        refs = [target["refId"] for target in p["targets"]]
        assert len(refs) == len(set(refs)), p["title"]
        for target in p["targets"]:
            assert target["datasource"] == DATASOURCE, (p["title"], target["refId"])
            assert target["expr"].strip(), (p["title"], target["refId"])
        assert p.get("description"), f"{p['title']}: say what the panel shows"


def test_variables_select_provider_account_and_currency() -> None:
    found = variables(dashboard())
    assert list(found) == ["datasource", "provider", "account", "currency"]
    source = found["datasource"]
    assert (source["type"], source["query"]) == ("datasource", "prometheus")
    provisioned = load_yaml(DATASOURCES)["datasources"]
    assert source["current"]["value"] == provisioned[0]["uid"]  # the provisioned one by default

    queries = {name: variable_query(found[name]) for name in ("provider", "account", "currency")}
    assert queries == {
        "provider": "label_values(billing_up, provider)",
        "account": 'label_values(billing_up{provider=~"$provider"}, account)',
        "currency": (
            'label_values(billing_balance{provider=~"$provider", account=~"$account"}, currency)'
        ),
    }
    for name in queries:
        variable = found[name]
        assert variable["type"] == "query"
        assert variable["datasource"] == DATASOURCE
        assert variable["multi"] is True
        assert variable["includeAll"] is True
        assert variable["allValue"] == ALL
        assert variable["definition"] == queries[name]


def test_every_query_follows_the_variables() -> None:
    """Each billing_* selector filters on the provider and account variables, money also on
    the currency variable; only the exporter's own metrics have no account to filter."""
    for where, expr in expressions(dashboard()):
        mentions = list(SELECTOR.finditer(expr))
        assert mentions, where
        for mention in mentions:
            metric, selector = mention[1], mention[2]
            if metric.startswith("billing_exporter_"):
                continue
            assert selector is not None, f"{where}: {metric} without a selector"
            matchers = {matcher.strip() for matcher in selector.strip("{}").split(",")}
            wanted = {'provider=~"$provider"', 'account=~"$account"'}
            if MONEY_METRIC.match(metric):
                wanted.add('currency=~"$currency"')
            assert wanted <= matchers, f"{where}: {mention[0]}"


def test_no_query_adds_up_money_across_currencies() -> None:
    for where, expr in expressions(dashboard()):
        assert currency_problems(expr) == [], where


@pytest.mark.parametrize(
    "expr",
    [
        "sum(billing_balance)",
        'sum by (provider) (billing_balance{account=~"$account"})',
        "avg(billing_available_credit) by (account)",
        "sum without (currency) (billing_balance)",
        'max(\n  billing_pending{account=~"(a|b)"}\n)',
        "count(billing_up) + sum(billing_low_balance_threshold)",
        "billing_balance - ignoring(currency) billing_low_balance_threshold",
        "billing_balance / on(provider, account) billing_credit_limit",
        "sum by (provider) (rate(billing_spent_total[1d]))",
        "billing_balance / ignoring(currency) rate(billing_spent_total[1d])",
    ],
)
def test_the_currency_check_finds_money_added_across_currencies(expr: str) -> None:
    assert currency_problems(expr)


@pytest.mark.parametrize(
    "expr",
    [
        "sum by (currency) (billing_balance)",
        "sum(billing_balance) by (provider, currency)",
        "sum without (account) (billing_balance)",
        "count(billing_up == 0) or vector(0)",
        "max_over_time(billing_balance[1h])",
        'billing_balance{account="sum(billing_balance)"}',
        "billing_balance - ignoring(figure) billing_low_balance_threshold",
        "billing_balance / on(provider, account, currency) billing_credit_limit",
        'sum by (reason) (rate(billing_poll_failures_total{account=~"$account"}[5m]))',
        "billing_balance / rate(billing_spent_total[1d])",
    ],
)
def test_the_currency_check_lets_money_per_currency_pass(expr: str) -> None:
    assert currency_problems(expr) == []


def test_balances_are_drawn_per_currency_with_their_thresholds() -> None:
    balances = panel(dashboard(), BALANCES)
    assert balances["type"] == "timeseries"
    assert balances["repeat"] == "currency"  # one copy per selected currency
    metrics = [SELECTOR.findall(t["expr"])[0][0] for t in balances["targets"]]
    assert metrics == [
        "billing_balance",
        "billing_available_credit",
        "billing_low_balance_threshold",
    ]
    [threshold] = [
        o for o in balances["fieldConfig"]["overrides"] if o["matcher"]["options"] == "C"
    ]
    assert threshold["matcher"]["id"] == "byFrameRefID"
    styles = {prop["id"]: prop["value"] for prop in threshold["properties"]}
    assert styles["custom.lineStyle"]["fill"] == "dash"


def test_the_status_table_and_the_forecast_use_the_contract_metrics() -> None:
    model = dashboard()
    status = [t["expr"] for t in panel(model, "Account status")["targets"]]
    for metric in (
        "billing_up",
        "billing_degraded",
        "billing_credit_blocked",
        "billing_account_ready",
    ):
        assert any(expr.startswith(metric + "{") for expr in status), metric
    assert any(
        expr.startswith("time() - billing_last_success_timestamp_seconds{") for expr in status
    )
    [forecast] = panel(model, FORECAST)["targets"]
    # The money (available credit, else balance) above zero over a day's spend above zero.
    assert "deriv" not in forecast["expr"]
    assert forecast["expr"].count(" > 0") == 3
    assert "/ (rate(billing_spent_total{" in forecast["expr"]
    assert forecast["expr"].endswith("}[1d]) * 86400 > 0)")
    spend = panel(model, SPEND)
    assert spend["repeat"] == "currency"  # money: one copy per selected currency
    assert [t["expr"].split("{")[0] for t in spend["targets"]] == [
        "rate(billing_spent_total",
        "rate(billing_topped_up_total",
    ]
    assert all(t["expr"].endswith("}[1d]) * 86400") for t in spend["targets"])
    assert spend_panels(model) == {FORECAST, SPEND}
    [failures] = panel(model, "Poll failures per minute by reason")["targets"]
    assert "sum by (reason) (rate(billing_poll_failures_total{" in failures["expr"]


def test_provisioning_points_at_the_compose_prometheus_and_dashboard_folder() -> None:
    [source] = load_yaml(DATASOURCES)["datasources"]
    assert (source["type"], source["url"], source["access"]) == (
        "prometheus",
        PROMETHEUS_URL,
        "proxy",
    )
    scrape_interval = load_yaml(COMPOSE_PROMETHEUS)["global"]["scrape_interval"]
    assert source["jsonData"]["timeInterval"] == scrape_interval  # $__rate_interval's base

    [provider] = load_yaml(DASHBOARD_PROVIDERS)["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == DASHBOARD_FOLDER

    services = load_yaml(COMPOSE)["services"]
    assert PROMETHEUS_URL.removeprefix("http://").split(":")[0] in services
    prometheus_flags = services["prometheus"].get("command", [])
    assert not any(flag.startswith("--web.listen-address") for flag in prometheus_flags)
    mounts = dict(
        (target, source)
        for source, target, *_ in (volume.split(":") for volume in services["grafana"]["volumes"])
    )
    assert mounts[DASHBOARD_FOLDER] == "../grafana/dashboards"
    assert mounts["/etc/grafana/provisioning"] == "../grafana/provisioning"
    assert (COMPOSE.parent / mounts[DASHBOARD_FOLDER]).resolve() == DASHBOARD.parent


# --- end to end: a real Prometheus scraping the exporter -----------------------------------


def config_text(simulator_url: str) -> str:
    """The demo config with a low-balance threshold on every account."""
    document = yaml.safe_load(demo_config_text(simulator_url))
    document["accounts"] = [a for a in document["accounts"] if a["name"] in DEMO]
    for account in document["accounts"]:
        account.setdefault("low_balance", THRESHOLDS.get(account["name"], DEFAULT_THRESHOLD))
    return yaml.safe_dump(document, sort_keys=False)


def demo_simulator() -> Simulator:
    """The demo's simulated accounts; those whose scenarios change their state after a
    minute or so (rate-limit bursts, degraded spells) stand still, so that what the status
    panels show does not depend on how long the run takes."""
    simulator = Simulator()
    for name, (account, _) in DEMO.items():
        simulator.add(name, replace(account, scenario=None) if name in STILL else account)
    return simulator


@dataclass
class Stack:
    prometheus: Prometheus
    exporter: ExporterProcess
    started: float  # wall-clock time Prometheus was ready (range queries start there)
    has_data: bool = False
    spend_counters: bool = False  # the exporter exports billing_spent_total (known with the data)

    async def label_values(self, query: str, values: Mapping[str, str]) -> list[str]:
        """A ``label_values(selector, label)`` variable query, through the label values API
        over the last RANGE seconds, as Grafana sends it."""
        match = LABEL_VALUES.match(interpolate(query, values))
        assert match is not None, query
        now = time.time()
        found = await self.prometheus.api(
            f"label/{match['label']}/values",
            **{"match[]": match["selector"], "start": repr(now - RANGE), "end": repr(now)},
        )
        return sorted(cast(list[str], found))

    async def resolve(
        self, model: Mapping[str, Any], selection: Mapping[str, list[str]]
    ) -> tuple[dict[str, str], dict[str, list[str]], dict[str, list[str]]]:
        """Each query variable in order: its options, its value in queries (a selection or
        All) and the values chosen (what a repeated panel repeats over)."""
        values: dict[str, str] = {}
        options: dict[str, list[str]] = {}
        chosen: dict[str, list[str]] = {}
        for name, variable in variables(model).items():
            if variable["type"] != "query":
                continue
            options[name] = await self.label_values(variable_query(variable), values)
            if name in selection:
                chosen[name] = selection[name]
                values[name] = regex_value(selection[name])
            else:
                chosen[name] = options[name]
                values[name] = variable["allValue"]
        return values, options, chosen

    async def queries(self, selection: Mapping[str, list[str]] | None = None) -> list[Query]:
        model = dashboard()
        values, _, chosen = await self.resolve(model, selection or {})
        return queries(model, values, chosen)

    async def query(self, title: str, ref: str = "A") -> Query:
        [found] = [q for q in await self.queries() if (q.panel, q.ref) == (title, ref)]
        return found

    async def run(self, query: Query, at: float | None = None) -> list[dict[str, str]]:
        """The label sets the query returns (range queries: the series with points)."""
        now = time.time() if at is None else at
        if query.instant:
            return [sample.labels for sample in await self.prometheus.query(query.expr, now)]
        series = await self.prometheus.query_range(
            query.expr, max(self.started, now - RANGE), now, STEP
        )
        return [s.labels for s in series if s.points]

    async def results(
        self, selection: Mapping[str, list[str]] | None = None
    ) -> dict[Query, list[dict[str, str]]]:
        """Every query's result; a query error (PrometheusError) is never retried."""
        return {query: await self.run(query) for query in await self.queries(selection)}

    async def values(self, title: str, ref: str = "A", at: float | None = None) -> dict[str, float]:
        """An instant target's value per account (``""`` for a result without one)."""
        query = await self.query(title, ref)
        assert query.instant, (title, ref)
        samples = await self.prometheus.query(query.expr, at)
        return {sample.labels.get("account", ""): sample.value for sample in samples}

    async def wait_for_data(self) -> None:
        """Until every panel copy and every target (in at least one copy: available credit
        exists in USD only) returns data with every variable at All. The spend panels first
        wait for the others: once every account's money is in, the spend counters are too,
        if the exporter exports them; if not, their queries must run and return nothing."""
        empty: list[str] = []
        spend = spend_panels(dashboard())

        async def every_query_has_data(panels: set[str]) -> bool:
            copies: dict[tuple[str, str | None], bool] = {}
            targets: dict[tuple[str, str], bool] = {}
            for query, labels in (await self.results()).items():
                if query.panel not in panels:
                    continue
                copy, target = (query.panel, query.copy), (query.panel, query.ref)
                copies[copy] = copies.get(copy, False) or bool(labels)
                targets[target] = targets.get(target, False) or bool(labels)
            empty[:] = [f"panel {p!r} copy {c!r}" for (p, c), ok in copies.items() if not ok]
            empty.extend(f"panel {p!r} target {r}" for (p, r), ok in targets.items() if not ok)
            return not empty

        async def wait_for(panels: set[str]) -> None:
            await wait_until(
                lambda: every_query_has_data(panels),
                lambda: "data for " + ", ".join(empty),
                DATA_DEADLINE,
            )

        if not self.has_data:
            everything = {p["title"] for p in query_panels(dashboard())}
            await wait_for(everything - spend)
            self.spend_counters = bool(await self.prometheus.query("billing_spent_total"))
            if self.spend_counters:
                await wait_for(spend)
            else:
                for query, labels in (await self.results()).items():
                    assert query.panel not in spend or labels == [], query
            self.has_data = True


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    binary = require_binary("prometheus")
    workdir = tmp_path_factory.mktemp("grafana-queries")
    simulator = await start_simulator(demo_simulator())
    try:
        config = workdir / "balance-exporter.yml"
        config.write_text(config_text(simulator.url), encoding="utf-8")
        address = f"127.0.0.1:{free_port()}"
        exporter = ExporterProcess(
            f"--config.file={config}", f"--web.listen-address={address}", cwd=workdir
        )
        async with exporter:
            prometheus = Prometheus(
                workdir / "prometheus", [scrape_job(JOB, [address])], binary=binary
            )
            async with prometheus:
                stack = Stack(prometheus, exporter, time.time())
                await all_accounts_scraped(prometheus, JOB, len(DEMO))
                yield stack
        assert exporter.returncode == 0, exporter.stderr
    finally:
        await simulator.stop()


@pytest.mark.asyncio(loop_scope="module")
async def test_variable_queries_list_the_scraped_labels(stack: Stack) -> None:
    model = dashboard()
    _, options, chosen = await stack.resolve(model, {})
    assert set(options["provider"]) == PROVIDERS
    assert set(options["account"]) == set(DEMO)
    assert set(options["currency"]) == CURRENCIES
    assert chosen == options  # All: a repeated panel repeats over every value

    _, options, _ = await stack.resolve(model, {"provider": SELECTED_PROVIDERS})
    assert set(options["account"]) == ACCOUNTS_OF_SELECTED_PROVIDERS
    assert set(options["currency"]) == {"USD", "EUR"}

    selection = {"provider": SELECTED_PROVIDERS, "account": ["sms-uk", "sms-uk-empty"]}
    _, options, _ = await stack.resolve(model, selection)
    assert options["currency"] == ["EUR"]


@pytest.mark.asyncio(loop_scope="module")
async def test_every_panel_query_returns_data(stack: Stack) -> None:
    """With every variable at All, each copy of each panel and each target returns data."""
    await stack.wait_for_data()

    results = await stack.results()
    assert len({(q.panel, q.ref) for q in results}) == sum(
        len(p["targets"]) for p in query_panels(dashboard())
    )
    assert {q.copy for q in results if q.copy is not None} == CURRENCIES  # a copy each
    for query, labels in results.items():
        if query.copy is not None:  # a currency's copy shows that currency only
            assert {series["currency"] for series in labels} <= {query.copy}, query


@pytest.mark.asyncio(loop_scope="module")
async def test_queries_follow_a_selection_of_providers_and_accounts(stack: Stack) -> None:
    await stack.wait_for_data()
    selection = {"provider": SELECTED_PROVIDERS, "account": SELECTED_ACCOUNTS}
    results = await stack.results(selection)
    assert {q.copy for q in results if q.copy is not None} == {"USD", "EUR"}
    seen: set[str] = set()
    for query, labels in results.items():
        for series in labels:
            if "account" in series:
                assert series["account"] in SELECTED_LEFT, (query, series)
                assert series["provider"] in SELECTED_PROVIDERS, (query, series)
                seen.add(series["account"])
    assert seen == SELECTED_LEFT
    balances = {
        query.copy: {series["account"] for series in labels}
        for query, labels in results.items()
        if query.panel == BALANCES and query.ref == "A"
    }
    assert balances == {"USD": {"sms-eu"}, "EUR": {"sms-uk"}}
    if stack.spend_counters:
        spent = {
            query.copy: {series["account"] for series in labels}
            for query, labels in results.items()
            if query.panel == SPEND and query.ref == "A"
        }
        assert spent == {"USD": {"sms-eu"}, "EUR": {"sms-uk"}}


@pytest.mark.asyncio(loop_scope="module")
async def test_status_panels_show_the_demo_accounts_states(stack: Stack) -> None:
    await stack.wait_for_data()
    at = time.time()
    assert await stack.values("Accounts down", at=at) == {"": 1.0}  # voice-subaccount
    assert await stack.values("Credit blocked", at=at) == {"": 1.0}  # sms-uk-empty: 0 EUR
    assert await stack.values("Degraded", at=at) == {"": 0.0}
    assert await stack.values("Config reload", at=at) == {"": 1.0}

    up = await stack.values("Account status", "A", at)
    assert up == {name: 0.0 if name == "voice-subaccount" else 1.0 for name in DEMO}
    degraded = await stack.values("Account status", "C", at)
    assert degraded == dict.fromkeys(set(DEMO) - {"voice-subaccount"}, 0.0)
    blocked = await stack.values("Account status", "D", at)
    assert {name: blocked[name] for name in ("sms-uk", "sms-uk-empty")} == {
        "sms-uk": 0.0,
        "sms-uk-empty": 1.0,
    }
    assert set(blocked) <= {"sms-uk", "sms-uk-empty", "sms-uk-onboarding"}  # 23 Telecom only
    ages = await stack.values("Account status", "E", at)
    with_money = set(DEMO) - {"voice-subaccount", "sms-uk-onboarding"}
    assert with_money <= set(ages) <= with_money | {"sms-uk-onboarding"}  # ready after 2 min
    for name, age in ages.items():
        assert 0 <= age < 3 * INTERVAL, name  # fresh: below BalanceStale's line
    assert await stack.values("Account status", "F", at) == dict.fromkeys(DEMO, INTERVAL)


@pytest.mark.asyncio(loop_scope="module")
async def test_days_to_zero_list_the_accounts_that_spend(stack: Stack) -> None:
    """sms-eu (available credit) and bulk (credits) drain in the demo; the rest stand still.
    Each one's days are its money over its spend per day, as the spend panel shows it."""
    await stack.wait_for_data()
    query = await stack.query(FORECAST)
    if not stack.spend_counters:
        assert await stack.run(query) == []  # runs, and has nothing to divide by
        return
    found: dict[str, str] = {}

    async def both_listed() -> bool:  # once each has been polled twice
        found.clear()
        found.update({s["account"]: s["currency"] for s in await stack.run(query)})
        return set(DRAINING) <= set(found)

    await wait_until(both_listed, lambda: f"{set(DRAINING)} listed, got {found}", DATA_DEADLINE)
    assert found == DRAINING
    at = time.time()
    spend = {q.copy: q for q in await stack.queries() if (q.panel, q.ref) == (SPEND, "A")}
    for name, days in (await stack.values(FORECAST, at=at)).items():
        [per_day] = [
            s.value
            for s in await stack.prometheus.query(spend[DRAINING[name]].expr, at)
            if s.labels["account"] == name
        ]
        [money] = await stack.prometheus.query(
            f'billing_available_credit{{account="{name}"}} or billing_balance{{account="{name}"}}',
            at,
        )
        assert per_day > 0, name
        assert days == pytest.approx(money.value / per_day, rel=1e-6), name


@pytest.mark.asyncio(loop_scope="module")
async def test_poll_failures_are_shown_by_reason(stack: Stack) -> None:
    await stack.wait_for_data()
    by_reason = await stack.run(await stack.query("Poll failures per minute by reason"))
    assert sorted(series["reason"] for series in by_reason) == sorted(
        reason.value for reason in Reason
    )
    assert all(set(series) == {"reason"} for series in by_reason)

    table = await stack.run(await stack.query("Failed polls in the time range"))
    rows = {(s["provider"], s["account"], s["reason"]) for s in table}
    # A Twilio subaccount has no balance of its own: each of its polls fails, a client error.
    assert rows == {("twilio", "voice-subaccount", "client_error")}
