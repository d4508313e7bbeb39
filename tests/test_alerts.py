"""The alert rules, checked and unit-tested by promtool, and the compose Prometheus config.

``deploy/prometheus/alerts.test.yml`` holds promtool's unit tests: every alert firing, with its
exact labels and annotations, and not firing; an exporter outage that leaves the money alerts
firing until ExporterDown has fired. The tests here also run them with the scrape job renamed
in the one line that names it, and check that every runbook_url leads to a README section.
promtool comes from Debian's prometheus package; without it these tests skip, except under
``CI=true``, where they fail.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import require_tool, run_tool

REPO = Path(__file__).resolve().parent.parent
PROMETHEUS = REPO / "deploy" / "prometheus"
RULES = PROMETHEUS / "alerts.yml"
RULE_TESTS = PROMETHEUS / "alerts.test.yml"  # evaluated every minute
DAY_TESTS = PROMETHEUS / "alerts.days.test.yml"  # hours and days, evaluated every 5 minutes
RULE_TESTS_ALL = (RULE_TESTS, DAY_TESTS)
COMPOSE_PROMETHEUS = PROMETHEUS / "prometheus.yml"
ALERTMANAGER = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
README = REPO / "README.md"
RUNBOOKS = "https://github.com/balance-exporter/balance-exporter/blob/main/README.md#"

JOB = "balance-exporter"  # the scrape job of compose and of the Kubernetes Service
JOB_LINE = 'expr: (up{job="balance-exporter"} or on() vector(0)) == 0'

ALERTS = {
    "BalanceBelowThreshold",
    "CreditBlocked",
    "ProviderDegraded",
    "AccountNotReady",
    "BalanceStale",
    "PollFailing",
    "BalanceExhaustionForecast",
    "ExporterDown",
    "ConfigReloadFailed",
}
# About an account's money or its ability to send: these must outlive the exporter's series.
MONEY_ALERTS = {
    "BalanceBelowThreshold",
    "CreditBlocked",
    "ProviderDegraded",
    "AccountNotReady",
    "BalanceExhaustionForecast",
}
ANNOTATIONS = {"summary", "description", "runbook_url"}
DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_tool("promtool", "prometheus")


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def seconds(duration: str) -> int:
    """A Prometheus duration of hours, minutes and seconds (what the rules use)."""
    match = DURATION.match(duration)
    assert duration, duration
    assert match is not None, duration
    hours, minutes, secs = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + secs


def with_job(rules_text: str, tests_text: str, job: str) -> tuple[str, str]:
    """The rules with the scrape job renamed in its one line, and the unit tests with every
    series and expected alert of the old job moved to the new one."""
    renamed_rules = rules_text.replace(f'up{{job="{JOB}"}}', f'up{{job="{job}"}}')
    assert renamed_rules.count(f'job="{job}"') == 1
    renamed_tests = (
        tests_text.replace(f'job="{JOB}"', f'job="{job}"')
        .replace(f"job: {JOB}\n", f"job: {job}\n")
        .replace(f"(job {JOB})", f"(job {job})")
    )
    return renamed_rules, renamed_tests


def promtool_test(promtool: str, folder: Path, rules_text: str, *tests_texts: str) -> str:
    """Run unit test files of these texts on these rules; promtool's output (1 and FAILED
    when a case fails, 0 and SUCCESS for each file when all pass)."""
    (folder / "alerts.yml").write_text(rules_text, encoding="utf-8")
    names = []
    for number, text in enumerate(tests_texts):
        names.append(f"alerts-{number}.test.yml")
        (folder / names[-1]).write_text(text, encoding="utf-8")
    result = run_tool(promtool, "test", "rules", *names, cwd=folder)
    output = result.stdout + result.stderr
    assert result.returncode == (1 if "FAILED" in output else 0), output
    return output


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file: the heading's text in lower
    case, without punctuation but hyphens and underscores, spaces made hyphens, a repeated one
    suffixed -1, -2 and so on; code blocks hold no headings."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        heading = re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line)
        if fenced or heading is None:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading[1].replace("`", "").lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def test_promtool_checks_the_rules(promtool: str) -> None:
    result = run_tool(promtool, "check", "rules", RULES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 10 rules found" in result.stdout


def test_promtool_unit_tests_pass(promtool: str) -> None:
    result = run_tool(promtool, "test", "rules", RULE_TESTS, DAY_TESTS)
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
    result = run_tool(promtool, "test", "rules", "alerts.test.yml", cwd=tmp_path)
    assert result.returncode == 1
    assert "alertname: BalanceBelowThreshold, time: 6m" in result.stdout + result.stderr


def test_promtool_checks_the_compose_prometheus_config(promtool: str, tmp_path: Path) -> None:
    """Checked from a copy holding only the config and the rules: they are all it needs."""
    shutil.copy(COMPOSE_PROMETHEUS, tmp_path / "prometheus.yml")
    shutil.copy(RULES, tmp_path / "alerts.yml")
    result = run_tool(promtool, "check", "config", "prometheus.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout
    assert "SUCCESS: 10 rules found" in result.stdout


def test_the_rules_are_exactly_the_issued_alerts() -> None:
    assert {rule["alert"] for rule in rules()} == ALERTS
    durations = {
        rule["alert"]: rule.get("for") for rule in rules() if rule["alert"] != "PollFailing"
    }
    assert durations["ProviderDegraded"] == "15m"
    assert durations["AccountNotReady"] == "1h"
    assert durations["CreditBlocked"] is None
    assert durations["ConfigReloadFailed"] == "5m"
    polls = {rule["labels"]["severity"]: rule for rule in rules() if rule["alert"] == "PollFailing"}
    assert 'reason="auth"' in polls["critical"]["expr"]
    # The second failed poll pages, whatever the interval: counted, not waited for.
    assert "for" not in polls["critical"]
    assert ">= 1.5 * billing_poll_interval_seconds" in polls["critical"]["expr"]
    assert 'reason!="auth"' in polls["warning"]["expr"]
    assert polls["warning"]["for"] == "15m"


def test_money_alerts_keep_firing_until_exporter_down_has_fired() -> None:
    """keep_firing_for on every alert about an account's money or ability to send, longer than
    ExporterDown's for: (plus a scrape and an evaluation of a few minutes); on no other."""
    (down,) = [rule for rule in rules() if rule["alert"] == "ExporterDown"]
    kept: dict[str, str] = {
        rule["alert"]: rule["keep_firing_for"] for rule in rules() if "keep_firing_for" in rule
    }
    assert set(kept) == MONEY_ALERTS
    for name, duration in kept.items():
        assert seconds(duration) >= seconds(down["for"]) + 5 * 60, name


def test_every_rule_has_severity_summary_description_and_runbook_url() -> None:
    for rule in rules():
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert set(rule["annotations"]) == ANNOTATIONS, rule["alert"]
        for text in rule["annotations"].values():
            assert text.strip(), rule["alert"]
            assert "\n" not in text, rule["alert"]


def test_every_runbook_url_leads_to_a_readme_section() -> None:
    """Each rule links its own README section (both PollFailing rules one each), under the
    Runbooks heading, by the anchor GitHub makes of the heading."""
    anchors = github_anchors(README.read_text(encoding="utf-8"))
    urls = [rule["annotations"]["runbook_url"] for rule in rules()]
    assert len(set(urls)) == len(urls)
    for rule, url in zip(rules(), urls, strict=True):
        assert url.startswith(RUNBOOKS), rule["alert"]
        assert url.removeprefix(RUNBOOKS) in anchors, rule["alert"]
        assert url.removeprefix(RUNBOOKS).startswith(rule["alert"].lower()), rule["alert"]
    readme = README.read_text(encoding="utf-8")
    runbooks = readme[readme.index("\n### Runbooks\n") :]
    runbooks = runbooks[: runbooks.index("\n### ", 1)]
    assert sorted(github_anchors(runbooks) - {"runbooks"}) == sorted(
        url.removeprefix(RUNBOOKS) for url in urls
    )


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("#### BalanceBelowThreshold", "balancebelowthreshold"),
        ("#### PollFailing (auth)", "pollfailing-auth"),
        ("### Secure serving: `--web.config.file`", "secure-serving---webconfigfile"),
        ("## Try it, test it", "try-it-test-it"),
    ],
)
def test_github_anchors_follow_githubs_rules(heading: str, anchor: str) -> None:
    assert github_anchors(f"{heading}\n") == {anchor}


def test_github_anchors_number_repeats_and_skip_code_blocks() -> None:
    text = "## Alerts\n```sh\n# not a heading\n```\n## Alerts\n"
    assert github_anchors(text) == {"alerts", "alerts-1"}


def test_account_alerts_describe_the_account_value_and_currency() -> None:
    for rule in rules():
        description = rule["annotations"]["description"]
        if rule["alert"] in ("ExporterDown", "ConfigReloadFailed"):  # the exporter's own
            assert "$labels.instance" in description
            continue
        assert "$labels.account" in description, rule["alert"]
        assert "$labels.provider" in description, rule["alert"]
        # The money itself ($value with its currency label) or the account's balance queried.
        has_money = "$value" in description and "$labels.currency" in description
        has_balance = "billing_balance{" in description and ".Labels.currency" in description
        assert has_money or has_balance, rule["alert"]


def test_every_alert_is_unit_tested_firing_and_not_firing() -> None:
    documents = [yaml.safe_load(path.read_text(encoding="utf-8")) for path in RULE_TESTS_ALL]
    assert all(document["rule_files"] == ["alerts.yml"] for document in documents)
    firing: set[str] = set()
    silent: set[str] = set()
    for test in (test for document in documents for test in document["tests"]):
        for case in test["alert_rule_test"]:
            expected = case["exp_alerts"]
            (firing if expected else silent).add(case["alertname"])
            for alert in expected:  # exact labels and annotations, nothing left open
                assert alert["exp_labels"]["severity"] in ("warning", "critical")
                assert set(alert["exp_annotations"]) == ANNOTATIONS
    assert firing == ALERTS
    assert silent == ALERTS


def test_one_line_names_the_scrape_job_the_deployments_scrape() -> None:
    config = yaml.safe_load(COMPOSE_PROMETHEUS.read_text(encoding="utf-8"))
    jobs = [job["job_name"] for job in config["scrape_configs"]]
    assert JOB in jobs
    text = RULES.read_text(encoding="utf-8")
    assert [line.strip() for line in text.splitlines() if "job=" in line and "expr" in line] == [
        JOB_LINE
    ]
    (down,) = [rule for rule in rules() if rule["alert"] == "ExporterDown"]
    assert down["expr"].strip() == JOB_LINE.removeprefix("expr: ")
    # No other rule selects a job (the descriptions' queries pass on the alert's own).
    assert [rule["alert"] for rule in rules() if "job=" in rule["expr"]] == ["ExporterDown"]


def test_the_unit_tests_pass_with_the_job_renamed_in_its_one_line(
    promtool: str, tmp_path: Path
) -> None:
    rules = RULES.read_text(encoding="utf-8")
    renamed = [
        with_job(rules, path.read_text(encoding="utf-8"), "billing") for path in RULE_TESTS_ALL
    ]
    rules_text = renamed[0][0]
    tests_texts = [tests for _, tests in renamed]
    assert all(text.count('job="billing"') > 20 for text in tests_texts)
    assert not any(f'job="{JOB}"' in text or f"job: {JOB}" in text for text in tests_texts)
    output = promtool_test(promtool, tmp_path, rules_text, *tests_texts)
    assert output.count("SUCCESS") == 2, output


def test_exporter_down_misses_a_renamed_job_until_its_line_is_changed(
    promtool: str, tmp_path: Path
) -> None:
    """The other side: scraped as job "billing" while the rule still names balance-exporter,
    ExporterDown sees no target at all, and the outage it should name goes unnamed."""
    _, tests_text = with_job(
        RULES.read_text(encoding="utf-8"), RULE_TESTS.read_text(encoding="utf-8"), "billing"
    )
    tests = yaml.safe_load(tests_text)
    tests["tests"] = [test for test in tests["tests"] if "ExporterDown" in str(test)]
    output = promtool_test(
        promtool, tmp_path, RULES.read_text(encoding="utf-8"), yaml.safe_dump(tests)
    )
    assert "FAILED" in output
    assert "name: an exporter that cannot be scraped,\n    alertname: ExporterDown" in output
    assert "name: a healthy exporter,\n    alertname: ExporterDown, time: 10m" in output


def test_without_keep_firing_for_the_outage_test_fails(promtool: str, tmp_path: Path) -> None:
    """The outage test can fail: without keep_firing_for the money alerts resolve with their
    series, before ExporterDown fires."""
    text = RULES.read_text(encoding="utf-8")
    stripped = re.sub(r"^ *keep_firing_for: .*\n", "", text, flags=re.M)
    assert stripped.count("\n") == text.count("\n") - len(MONEY_ALERTS)
    tests = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))
    name = "an exporter outage keeps the money alerts firing until ExporterDown has fired"
    tests["tests"] = [test for test in tests["tests"] if test["name"] == name]
    output = promtool_test(promtool, tmp_path, stripped, yaml.safe_dump(tests))
    assert "FAILED" in output
    for alert in MONEY_ALERTS:
        assert f"alertname: {alert}, time: 1h14m" in output, alert


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
    assert named == ALERTS - {"AccountNotReady", "ExporterDown", "ConfigReloadFailed"}
