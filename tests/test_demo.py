"""``balance-exporter --demo``, run as a real process: no file, no secret, five providers."""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from prometheus_harness import ExporterProcess, free_port, run_exporter, wait_until
from support import LOGFMT_FIELD, LandingTable

from balance_exporter.demo import demo_accounts
from balance_exporter.polling.errors import Reason
from balance_exporter.providers.registry import BUILT_IN
from balance_exporter.simulator import SimAccount
from balance_exporter.simulator.providers.base import Shown
from balance_exporter.simulator.providers.registry import SIMULATED
from balance_exporter.simulator.scenarios import DrainAndTopUp, ReadyAfter

PROCESS_DEADLINE = 60.0
READY_DEADLINE = 30.0  # first polls are spread over 10 s
DEMO = {name: account for name, (account, _) in demo_accounts().items()}
DEMO_KEYS = [account.key for account in DEMO.values()]
PROVIDERS = set(BUILT_IN)


def _shown(account: SimAccount) -> Shown:
    return SIMULATED[account.provider].shown(account, account.balance)


def _has_money(account: SimAccount) -> bool:
    """An account the demo shows a balance of: it answers, and is not in setup."""
    provider = SIMULATED[account.provider]
    return (
        account.state not in provider.failing_states
        and account.state != "setup"
        and not account.state.startswith("degraded")
        and not isinstance(account.scenario, ReadyAfter)
    )


# Each (account, currency) balance of the accounts whose scenario leaves the balance alone, as
# its simulated provider says it reads, and the accounts that drain and get topped up.
DRAINING = {
    name: (account.provider, _shown(account).currency)
    for name, account in DEMO.items()
    if isinstance(account.scenario, DrainAndTopUp)
}
STEADY = {
    (name, currency): (account.provider, float(amount))
    for name, account in DEMO.items()
    if _has_money(account) and name not in DRAINING
    for currency, amount in [
        (_shown(account).currency, _shown(account).money["balance"]),
        *_shown(account).more_balances.items(),
    ]
}


def test_every_registered_provider_api_has_a_demo_account() -> None:
    demoed = {(account.provider, account.variant) for account in DEMO.values()}
    missing = [
        f"{name} {variant}".strip()
        for name, cls in BUILT_IN.items()
        for variant in cls.variants()
        if (name, variant) not in demoed
    ]
    assert missing == [], f"no demo account for: {', '.join(missing)}"


def _samples(exposition: str, name: str) -> dict[str, tuple[dict[str, str], float]]:
    """Samples of ``name`` by account (and reason, and currency where there are several)."""
    found: dict[str, tuple[dict[str, str], float]] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name:
                key = sample.labels.get("account", "") + "/" + sample.labels.get("reason", "")
                if name == "billing_balance":
                    key += "/" + sample.labels["currency"]
                assert key not in found, (name, key)
                found[key] = (sample.labels, sample.value)
    return found


def _by_account(exposition: str, name: str) -> dict[str, float]:
    return {labels["account"]: value for labels, value in _samples(exposition, name).values()}


def _drained(account: SimAccount, seconds: float) -> set[float]:
    """Every balance the account's DrainAndTopUp scenario shows within ``seconds``."""
    scenario = account.scenario
    assert isinstance(scenario, DrainAndTopUp)
    probe = SimAccount(account.provider, account.key)
    values = set()
    for elapsed in range(math.ceil(seconds) + 1):
        scenario.apply(probe, elapsed)
        values.add(float(probe.balance))
    return values


def _balances_are_the_demo_ones(exposition: str, seconds: float) -> None:
    balances = _samples(exposition, "billing_balance")
    assert {labels["account"] for labels, _ in balances.values()} == {
        name for name, _ in STEADY
    } | set(DRAINING)
    for labels, value in balances.values():
        name = labels["account"]
        if (name, labels["currency"]) in STEADY:
            assert (labels["provider"], value) == STEADY[name, labels["currency"]]
        else:
            assert (labels["provider"], labels["currency"]) == DRAINING[name]
            assert value in _drained(DEMO[name], seconds), (name, value)
    assert {labels["provider"] for labels, _ in balances.values()} == PROVIDERS


def _log_lines(stderr: str) -> list[dict[str, str]]:
    return [dict(LOGFMT_FIELD.findall(line)) for line in stderr.splitlines()]


# The figures the providers' documented answers give (the table of the providers added with
# http_json), as the demo's accounts answer them: (account, metric, currency) -> value.
DOCUMENTED = {
    ("vonage-main", "billing_balance", "EUR"): 10.171275,
    ("plivo-main", "billing_balance", "USD"): 4.8886,
    ("infobip-main", "billing_balance", "EUR"): 47.79,
    ("messagebird-main", "billing_balance", "EUR"): 9.2,
    ("didww-main", "billing_balance", "USD"): 50.0,
    ("didww-main", "billing_credit_limit", "USD"): 10.0,
    ("didww-main", "billing_available_credit", "USD"): 60.0,
    ("clicksend-main", "billing_balance", "AUD"): 25.148,
    ("textmagic-main", "billing_balance", "USD"): 10.5,
    ("46elks-main", "billing_balance", "SEK"): 967.05,
    ("openrouter-key", "billing_balance", "USD"): 74.5,
    ("deepseek-main", "billing_balance", "CNY"): 110.0,
    ("serpapi-main", "billing_balance", "searches"): 5958.0,
}
# Those whose demo account starts at the documented figure and is then spent.
DOCUMENTED_AT_FIRST = {
    ("bulksms-main", "billing_balance", "credits"): 1234.5,
    ("openrouter-main", "billing_balance", "USD"): 74.75,
    ("elevenlabs-main", "billing_balance", "credits"): 88000.0,
}


def test_demo_once_prints_the_documented_figures(tmp_path: Path) -> None:
    result = run_exporter("--demo", "--once", cwd=tmp_path, timeout=PROCESS_DEADLINE)
    found = {
        (sample.labels["account"], sample.name, sample.labels["currency"]): sample.value
        for family in text_string_to_metric_families(result.stdout)
        for sample in family.samples
        if "currency" in sample.labels and sample.name != "billing_low_balance_threshold"
    }
    assert {key: found.get(key) for key in DOCUMENTED} == DOCUMENTED
    for key, start in DOCUMENTED_AT_FIRST.items():
        assert start - 100 < found[key] <= start, key  # a few seconds' spending at most


def test_demo_once_prints_balances_of_every_provider(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_exporter("--demo", "--once", cwd=tmp_path, timeout=PROCESS_DEADLINE)
    seconds = time.monotonic() - started

    # Exit 1: the demo's Twilio subaccount has no balance of its own, by design.
    assert result.returncode == 1, result.stderr
    exposition = result.stdout
    _balances_are_the_demo_ones(exposition, seconds)
    up = _by_account(exposition, "billing_up")
    assert up == {name: float(name != "voice-subaccount") for name in DEMO}
    assert _by_account(exposition, "billing_polls_total") == dict.fromkeys(DEMO, 1.0)
    failures = {
        key: value
        for key, (_, value) in _samples(exposition, "billing_poll_failures_total").items()
    }
    assert failures == {
        f"{name}/{reason.value}": float(
            name == "voice-subaccount" and reason is Reason.CLIENT_ERROR
        )
        for name in DEMO
        for reason in Reason
    }
    assert _by_account(exposition, "billing_account_ready")["sms-uk-onboarding"] == 0
    # The one failure is logged once, as a warning naming the account and the reason.
    problems = [
        line for line in _log_lines(result.stderr) if line.get("level") in ("warn", "error")
    ]
    assert [(line["account"], line["reason"], line["msg"]) for line in problems] == [
        ("voice-subaccount", "client_error", '"poll failed"')
    ]
    for key in DEMO_KEYS:
        assert key not in result.stderr
        assert key not in result.stdout


async def test_demo_serves_metrics_landing_page_and_readiness(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    exporter = ExporterProcess("--demo", "--web.listen-address", address, cwd=tmp_path)
    started = time.monotonic()
    async with exporter, aiohttp.ClientSession() as session:
        banner = await exporter.output_matching(r"simulated providers:\s+(\S+)$", within=15.0)
        assert f"balance-exporter demo: {len(DEMO)} simulated accounts" in exporter.stdout
        assert re.search(rf"metrics:\s+http://{address}/metrics$", exporter.stdout, re.M)
        assert re.search(rf"landing page:\s+http://{address}/$", exporter.stdout, re.M)
        url = f"http://{address}"

        async def ready() -> bool:
            try:
                async with session.get(f"{url}/-/ready") as response:
                    return response.status == 200
            except aiohttp.ClientConnectionError:
                return False  # not listening yet

        await wait_until(ready, "/-/ready to answer 200", READY_DEADLINE)

        async with session.get(f"{url}/-/healthy") as response:
            assert response.status == 200
        async with session.get(f"{url}/metrics") as response:
            assert response.status == 200
            exposition = await response.text()
        _balances_are_the_demo_ones(exposition, time.monotonic() - started)
        assert set(_by_account(exposition, "billing_up")) == set(DEMO)

        async with session.get(f"{url}/") as response:
            assert response.status == 200
            assert response.content_type == "text/html"
            page = await response.text()
        rows = {
            name: (row["Provider"], row["Status"], row["Balance"])
            for name, row in LandingTable(page).by_account().items()
        }
        assert set(rows) == set(DEMO)
        assert rows["voice-subaccount"] == ("twilio", "failing", "—")
        assert rows["sms-uk-onboarding"] == ("23telecom", "in setup", "—")
        assert rows["sms-uk-empty"] == ("23telecom", "blocked", "0.00 EUR")
        assert rows["voice"] == ("twilio", "below threshold", "84.27 USD")
        assert rows["sms-us"] == ("telnyx", "ok", "-154.29 USD")
        assert rows["search"] == ("youcom", "ok", "7189.245 USD")

        # The control interface the banner names answers for every simulated account.
        async with session.get(banner[1]) as response:
            assert response.status == 200
            simulated = await response.json()
        assert set(simulated) == set(DEMO)
        assert all(account["requests"] >= 1 for account in simulated.values())

    assert exporter.returncode == 0  # SIGTERM: a clean stop
    for key in DEMO_KEYS:
        assert key not in exporter.stderr
        assert key not in exporter.stdout
