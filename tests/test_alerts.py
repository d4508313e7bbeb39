"""The alert rules, checked and unit-tested by promtool, and the compose Prometheus config.

``deploy/prometheus/alerts.test.yml`` holds promtool's unit tests: every alert firing, with its
exact labels and annotations, and not firing. promtool comes from Debian's prometheus package;
without it these tests skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import require_tool

REPO = Path(__file__).resolve().parent.parent
PROMETHEUS = REPO / "deploy" / "prometheus"
RULES = PROMETHEUS / "alerts.yml"
RULE_TESTS = PROMETHEUS / "alerts.test.yml"
COMPOSE_PROMETHEUS = PROMETHEUS / "prometheus.yml"
ALERTMANAGER = REPO / "deploy" / "alertmanager" / "alertmanager.yml"

ALERTS = {
    "BalanceBelowThreshold",
    "CreditBlocked",
    "ProviderDegraded",
    "AccountNotReady",
    "BalanceStale",
    "PollFailing",
    "BalanceExhaustionForecast",
    "ExporterDown",
}


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_tool("promtool", "prometheus")


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - promtool with our own files
        [str(arg) for arg in args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_promtool_checks_the_rules(promtool: str) -> None:
    result = run(promtool, "check", "rules", RULES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 9 rules found" in result.stdout


def test_promtool_unit_tests_pass(promtool: str) -> None:
    result = run(promtool, "test", "rules", RULE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_unit_tests_fail_when_a_rule_is_wrong(promtool: str, tmp_path: Path) -> None:
    """The unit tests can fail: with the threshold comparison turned round, the first does."""
    text = RULES.read_text(encoding="utf-8")
    broken = text.replace("< ignoring(figure) group_left", "> ignoring(figure) group_left")
    assert broken != text
    (tmp_path / "alerts.yml").write_text(broken, encoding="utf-8")
    tests = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))
    tests["tests"] = tests["tests"][:1]
    assert tests["tests"][0]["alert_rule_test"][1]["alertname"] == "BalanceBelowThreshold"
    (tmp_path / "alerts.test.yml").write_text(yaml.safe_dump(tests), encoding="utf-8")
    result = run(promtool, "test", "rules", "alerts.test.yml", cwd=tmp_path)
    assert result.returncode == 1
    assert "alertname: BalanceBelowThreshold, time: 6m" in result.stdout + result.stderr


def test_promtool_checks_the_compose_prometheus_config(promtool: str, tmp_path: Path) -> None:
    """Checked from a copy holding only the config and the rules: they are all it needs."""
    shutil.copy(COMPOSE_PROMETHEUS, tmp_path / "prometheus.yml")
    shutil.copy(RULES, tmp_path / "alerts.yml")
    result = run(promtool, "check", "config", "prometheus.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout
    assert "SUCCESS: 9 rules found" in result.stdout


def test_the_rules_are_exactly_the_issued_alerts() -> None:
    assert {rule["alert"] for rule in rules()} == ALERTS
    durations = {
        rule["alert"]: rule.get("for") for rule in rules() if rule["alert"] != "PollFailing"
    }
    assert durations["ProviderDegraded"] == "15m"
    assert durations["AccountNotReady"] == "1h"
    assert durations["CreditBlocked"] is None
    polls = {rule["labels"]["severity"]: rule for rule in rules() if rule["alert"] == "PollFailing"}
    assert 'reason="auth"' in polls["critical"]["expr"]
    assert "for" not in polls["critical"]  # auth failures page at once
    assert 'reason!="auth"' in polls["warning"]["expr"]
    assert polls["warning"]["for"] == "15m"


def test_every_rule_has_severity_summary_description_and_runbook() -> None:
    for rule in rules():
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert set(rule["annotations"]) == {"summary", "description", "runbook"}, rule["alert"]
        for text in rule["annotations"].values():
            assert text.strip(), rule["alert"]
            assert "\n" not in text, rule["alert"]


def test_account_alerts_describe_the_account_value_and_currency() -> None:
    for rule in rules():
        description = rule["annotations"]["description"]
        if rule["alert"] == "ExporterDown":
            assert "$labels.instance" in description
            continue
        assert "$labels.account" in description, rule["alert"]
        assert "$labels.provider" in description, rule["alert"]
        # The money itself ($value with its currency label) or the account's balance queried.
        has_money = "$value" in description and "$labels.currency" in description
        has_balance = "billing_balance{" in description and ".Labels.currency" in description
        assert has_money or has_balance, rule["alert"]


def test_every_alert_is_unit_tested_firing_and_not_firing() -> None:
    document = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))
    assert document["rule_files"] == ["alerts.yml"]
    firing: set[str] = set()
    silent: set[str] = set()
    for test in document["tests"]:
        for case in test["alert_rule_test"]:
            expected = case["exp_alerts"]
            (firing if expected else silent).add(case["alertname"])
            for alert in expected:  # exact labels and annotations, nothing left open
                assert alert["exp_labels"]["severity"] in ("warning", "critical")
                assert set(alert["exp_annotations"]) == {"summary", "description", "runbook"}
    assert firing == ALERTS
    assert silent == ALERTS


def test_exporter_down_selects_the_job_the_deployments_scrape() -> None:
    config = yaml.safe_load(COMPOSE_PROMETHEUS.read_text(encoding="utf-8"))
    jobs = [job["job_name"] for job in config["scrape_configs"]]
    assert "balance-exporter" in jobs
    (down,) = [rule for rule in rules() if rule["alert"] == "ExporterDown"]
    assert 'up{job="balance-exporter"} == 0' in down["expr"]
    assert 'absent(up{job="balance-exporter"})' in down["expr"]


def test_alertmanager_routes_to_receivers_and_inhibits_known_alerts() -> None:
    config = yaml.safe_load(ALERTMANAGER.read_text(encoding="utf-8"))
    receivers = {receiver["name"] for receiver in config["receivers"]}
    route = config["route"]
    assert route["receiver"] in receivers
    assert {child["receiver"] for child in route["routes"]} <= receivers
    assert route["routes"][0]["matchers"] == ['severity="critical"']
    named: set[str] = set()
    for rule in config["inhibit_rules"]:
        for matcher in rule["source_matchers"] + rule["target_matchers"]:
            name, _, value = matcher.partition("=")
            assert name == "alertname"
            named.update(value.lstrip("~").strip('"').split("|"))
        # Only labels every alert of the rules carries (ExporterDown aside).
        assert set(rule["equal"]) <= {"job", "instance", "provider", "account", "currency"}
    assert named <= ALERTS
    assert named == ALERTS - {"AccountNotReady", "ExporterDown"}
