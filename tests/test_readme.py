"""The README's example queries: each one is evaluated by ``promtool test rules`` on made-up
series of two accounts, and gives the answer its text promises. A query added to the README
without an expectation here fails the test, and so does one that no longer parses."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import require_tool, run_tool

README = Path(__file__).resolve().parent.parent / "README.md"

# Two accounts over two days, a sample an hour. "sms" spends 2 USD an hour (48 a day) and was
# topped up by 100 after a day, and reports available credit; "voice" spends nothing, has only a
# balance, sits below its threshold and fails its polls (a network error each hour).
SMS = 'provider="telnyx",account="sms",currency="USD"'
VOICE = 'provider="twilio",account="voice",currency="USD"'
SERIES = {
    # 300 down to 254 in the first day, 100 added at 24h (352), down to 304 at 48h.
    f"billing_available_credit{{{SMS}}}": "300-2x23 352-2x24",
    f"billing_balance{{{SMS}}}": "310-2x23 362-2x24",
    f"billing_spent_total{{{SMS}}}": "0+2x48",
    f"billing_low_balance_threshold{{{SMS}}}": "50x48",
    f"billing_balance{{{VOICE}}}": "10x48",
    f"billing_spent_total{{{VOICE}}}": "0x48",
    f"billing_low_balance_threshold{{{VOICE}}}": "20x48",
    'billing_up{provider="telnyx",account="sms"}': "1x48",
    'billing_up{provider="twilio",account="voice"}': "0x48",
    'billing_poll_failures_total{provider="telnyx",account="sms",reason="network"}': "0x48",
    'billing_poll_failures_total{provider="twilio",account="voice",reason="network"}': "0+1x48",
}
# What each README query answers two days in: labels, then value.
EXPECTED: dict[str, list[tuple[str, float]]] = {
    "billing_available_credit or billing_balance": [
        (f"billing_available_credit{{{SMS}}}", 304),
        (f"billing_balance{{{VOICE}}}", 10),
    ],
    "increase(billing_spent_total[1d])": [(f"{{{SMS}}}", 48), (f"{{{VOICE}}}", 0)],
    "(billing_available_credit or billing_balance) / (rate(billing_spent_total[1d]) * 86400 > 0)": [
        (f"{{{SMS}}}", 304 / 48)
    ],
    "(billing_available_credit or billing_balance) < billing_low_balance_threshold": [
        (f"billing_balance{{{VOICE}}}", 10)
    ],
    "billing_up == 0": [('billing_up{provider="twilio",account="voice"}', 0)],
    "increase(billing_poll_failures_total[1h]) > 0": [
        ('{provider="twilio",account="voice",reason="network"}', 1)
    ],
}


def readme_queries() -> list[str]:
    """The ```promql blocks of the README's "Example queries", one expression each."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Example queries\n", 1)[1].split("\n#", 1)[0]
    return [block.strip() for block in re.findall(r"```promql\n(.*?)```", section, re.S)]


def test_every_readme_query_has_an_expectation() -> None:
    assert sorted(readme_queries()) == sorted(EXPECTED)


def test_the_readme_queries_answer_what_the_readme_says(tmp_path: Path) -> None:
    promtool = require_tool("promtool", "prometheus")
    (tmp_path / "empty.yml").write_text("groups: []\n", encoding="utf-8")
    tests: dict[str, Any] = {
        "rule_files": ["empty.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1h",
                "input_series": [
                    {"series": series, "values": values} for series, values in SERIES.items()
                ],
                "promql_expr_test": [
                    {
                        "expr": query,
                        "eval_time": "48h",
                        "exp_samples": [
                            {"labels": labels, "value": value} for labels, value in samples
                        ],
                    }
                    for query, samples in EXPECTED.items()
                ],
            }
        ],
    }
    path = tmp_path / "readme.test.yml"
    path.write_text(yaml.safe_dump(tests, sort_keys=False), encoding="utf-8")
    result = run_tool(promtool, "test", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("query", ["billing_up == ", "rate(billing_spent_total)"])
def test_promtool_refuses_a_broken_query(tmp_path: Path, query: str) -> None:
    """What the test above relies on: a query promtool cannot run fails it."""
    promtool = require_tool("promtool", "prometheus")
    path = tmp_path / "broken.test.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "tests": [
                    {
                        "interval": "1h",
                        "input_series": [],
                        "promql_expr_test": [{"expr": query, "eval_time": "0", "exp_samples": []}],
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    result = run_tool(promtool, "test", "rules", path)
    assert result.returncode != 0
