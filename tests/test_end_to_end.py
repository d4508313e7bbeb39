"""The daemon, pointed at the simulated providers over real HTTP, serving real /metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from subprocess import PIPE

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from support import FAILURE_REASONS, require_tool

from balance_exporter.config.checker import parse_config
from balance_exporter.daemon import Daemon
from balance_exporter.demo import serve_app, start_simulator
from balance_exporter.simulator import SimAccount, Simulator

SID = "AC0123456789abcdef0123456789abcdef"
SUB_SID = "ACfedcba9876543210fedcba9876543210"
CANARY = "canary-Zx81-do-not-leak"


async def wait_for(predicate: Callable[[], Awaitable[bool]], seconds: float = 15.0) -> None:
    # Not prometheus_harness.wait_until: this deadline also ends a scrape that hangs.
    async with asyncio.timeout(seconds):
        while not await predicate():  # noqa: ASYNC110 - the condition is read over HTTP
            await asyncio.sleep(0.05)


@dataclass
class Stack:
    simulator: Simulator
    daemon: Daemon
    url: str
    session: aiohttp.ClientSession

    async def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        async with self.session.get(f"{self.url}/metrics") as response:
            assert response.status == 200
            text = await response.text()
        samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                assert sample.timestamp is None
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples

    async def value(self, name: str, **labels: str) -> float | None:
        return (await self.scrape()).get((name, tuple(sorted(labels.items()))))


def _config(sim_url: str) -> str:
    return f"""
global: {{min_interval: 1s}}
defaults: {{interval: 1s, timeout: 500ms}}
accounts:
  - {{name: sms-eu, provider: telnyx, api_key: telnyx-{CANARY}, base_url: "{sim_url}"}}
  - {{name: voice, provider: twilio, account_sid: {SID}, auth_token: tw-{CANARY},
      base_url: "{sim_url}"}}
  - {{name: voice-sub, provider: twilio, account_sid: {SUB_SID}, auth_token: sub-{CANARY},
      base_url: "{sim_url}"}}
  - {{name: bulk, provider: clickatell, api_key: ck-{CANARY}, base_url: "{sim_url}"}}
  - {{name: za, provider: clickatell, api: platform, api_key: ckp-{CANARY}, base_url: "{sim_url}"}}
  - {{name: search, provider: youcom, api_key: yc-{CANARY}, base_url: "{sim_url}"}}
  - {{name: uk, provider: 23telecom, api_key: t23-{CANARY}, base_url: "{sim_url}"}}
  - {{name: uk-empty, provider: 23telecom, api_key: t23e-{CANARY}, base_url: "{sim_url}"}}
  - {{name: uk-new, provider: 23telecom, api_key: t23n-{CANARY}, base_url: "{sim_url}"}}
  - {{name: uk-cache, provider: 23telecom, api_key: t23c-{CANARY}, base_url: "{sim_url}"}}
  - {{name: wrong-key, provider: youcom, api_key: nope-{CANARY}, base_url: "{sim_url}"}}
"""


def _simulator() -> Simulator:
    sim = Simulator()
    sim.add(
        "sms-eu",
        SimAccount(
            "telnyx",
            f"telnyx-{CANARY}",
            balance=Decimal("300.00"),
            credit_limit=Decimal("100.00"),
            pending=Decimal("10.00"),
        ),
    )
    sim.add("voice", SimAccount("twilio", f"tw-{CANARY}", balance=Decimal("0.05"), account_sid=SID))
    sim.add(
        "voice-sub", SimAccount("twilio", f"sub-{CANARY}", account_sid=SUB_SID, state="subaccount")
    )
    sim.add(
        "bulk", SimAccount("clickatell", f"ck-{CANARY}", balance=Decimal("300.50"), variant="rest")
    )
    sim.add(
        "za",
        SimAccount(
            "clickatell",
            f"ckp-{CANARY}",
            balance=Decimal("1267.92865"),
            currency="ZAR",
            variant="platform",
        ),
    )
    sim.add(
        "search",
        SimAccount("youcom", f"yc-{CANARY}", balance=Decimal("7189.245"), entity_id="ent_9f2c"),
    )
    sim.add(
        "uk", SimAccount("23telecom", f"t23-{CANARY}", balance=Decimal("1250.50"), currency="EUR")
    )
    sim.add(
        "uk-empty", SimAccount("23telecom", f"t23e-{CANARY}", balance=Decimal(0), currency="EUR")
    )
    sim.add("uk-new", SimAccount("23telecom", f"t23n-{CANARY}", state="setup", currency="EUR"))
    sim.add(
        "uk-cache",
        SimAccount("23telecom", f"t23c-{CANARY}", balance=Decimal("42.00"), currency="EUR"),
    )
    return sim


@pytest.fixture
async def stack(caplog: pytest.LogCaptureFixture) -> AsyncIterator[Stack]:
    caplog.set_level("DEBUG")
    simulator = await start_simulator(_simulator())
    config = parse_config(_config(simulator.url), "e2e.yml")
    daemon = Daemon("e2e.yml", config)
    served = await serve_app(daemon.app(), access_log=True)  # as the exporter serves it
    await daemon.start()
    async with aiohttp.ClientSession() as session:
        stack = Stack(simulator.simulator, daemon, served.url, session)

        async def ready() -> bool:
            async with session.get(f"{stack.url}/-/ready") as response:
                return response.status == 200

        await wait_for(ready)
        yield stack
    await daemon.stop()
    await served.stop()
    await simulator.stop()
    assert CANARY not in caplog.text


def k(name: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(sorted(labels.items()))


async def test_every_documented_case_yields_the_contract(stack: Stack) -> None:
    m = await stack.scrape()
    # Telnyx: every figure, in major units.
    telnyx = {"provider": "telnyx", "account": "sms-eu", "currency": "USD"}
    assert m[k("billing_balance", **telnyx)] == 300.0
    assert m[k("billing_credit_limit", **telnyx)] == 100.0
    assert m[k("billing_pending", **telnyx)] == 10.0
    assert m[k("billing_available_credit", **telnyx)] == 400.0
    # Twilio: balance string; the subaccount fails with a client error and exports no money.
    assert m[k("billing_balance", provider="twilio", account="voice", currency="USD")] == 0.05
    assert (
        m[k("billing_account_info", provider="twilio", account="voice", provider_account_id=SID)]
        == 1
    )
    assert m[k("billing_up", provider="twilio", account="voice-sub")] == 0
    sub_failures = k(
        "billing_poll_failures_total", provider="twilio", account="voice-sub", reason="client_error"
    )
    assert m[sub_failures] >= 1
    assert not any(
        name == "billing_balance" and ("account", "voice-sub") in labels for name, labels in m
    )
    # Clickatell: REST credits, platform with its own currency.
    assert (
        m[k("billing_balance", provider="clickatell", account="bulk", currency="credits")] == 300.5
    )
    assert (
        m[k("billing_balance", provider="clickatell", account="za", currency="ZAR")] == 1267.92865
    )
    # You.com: cents to dollars, the billing entity as the account id.
    assert m[k("billing_balance", provider="youcom", account="search", currency="USD")] == 7189.245
    assert (
        m[
            k(
                "billing_account_info",
                provider="youcom",
                account="search",
                provider_account_id="ent_9f2c",
            )
        ]
        == 1
    )
    # 23 Telecom: balance, as-of time in UTC, blocked flag, setup state.
    assert m[k("billing_balance", provider="23telecom", account="uk", currency="EUR")] == 1250.5
    assert (
        m[k("billing_provider_updated_timestamp_seconds", provider="23telecom", account="uk")]
        == 1770977700
    )
    assert m[k("billing_credit_blocked", provider="23telecom", account="uk")] == 0
    assert m[k("billing_credit_blocked", provider="23telecom", account="uk-empty")] == 1
    assert m[k("billing_account_ready", provider="23telecom", account="uk-new")] == 0
    assert m[k("billing_up", provider="23telecom", account="uk-new")] == 1
    assert not any(
        name == "billing_balance" and ("account", "uk-new") in labels for name, labels in m
    )
    # A wrong key: the provider's own 401, counted as auth.
    assert m[k("billing_up", provider="youcom", account="wrong-key")] == 0
    assert (
        m[k("billing_poll_failures_total", provider="youcom", account="wrong-key", reason="auth")]
        >= 1
    )
    # Exporter-level series.
    assert m[k("billing_exporter_config_last_reload_successful")] == 1
    for reason in FAILURE_REASONS:
        assert (
            k("billing_poll_failures_total", provider="telnyx", account="sms-eu", reason=reason)
            in m
        )


async def test_degraded_answer_keeps_the_last_trustworthy_balance(stack: Stack) -> None:
    labels = {"provider": "23telecom", "account": "uk-cache"}
    assert await stack.value("billing_balance", currency="EUR", **labels) == 42.0
    trusted_at = await stack.value("billing_last_success_timestamp_seconds", **labels)
    stack.simulator.accounts["uk-cache"].state = "degraded"

    async def degraded() -> bool:
        return await stack.value("billing_degraded", **labels) == 1

    await wait_for(degraded)
    assert await stack.value("billing_balance", currency="EUR", **labels) == 42.0  # never the 0
    assert await stack.value("billing_up", **labels) == 1
    assert await stack.value("billing_last_success_timestamp_seconds", **labels) == trusted_at

    stack.simulator.accounts["uk-cache"].state = "ok"
    stack.simulator.accounts["uk-cache"].balance = Decimal("41.50")

    async def recovered() -> bool:
        return await stack.value("billing_balance", currency="EUR", **labels) == 41.5

    await wait_for(recovered)
    assert await stack.value("billing_degraded", **labels) == 0


async def test_metrics_answer_while_a_provider_hangs(stack: Stack) -> None:
    stack.simulator.accounts["sms-eu"].fault = "hang"
    labels = {"provider": "telnyx", "account": "sms-eu"}

    async def timed_out() -> bool:
        failures = k("billing_poll_failures_total", reason="timeout", **labels)
        return (await stack.scrape()).get(failures, 0) >= 1

    await wait_for(timed_out)
    # The last trustworthy value stays, and the other accounts keep updating.
    assert await stack.value("billing_balance", currency="USD", **labels) == 300.0
    before = await stack.value("billing_polls_total", provider="youcom", account="search")
    assert before is not None

    async def others_update() -> bool:
        polls = await stack.value("billing_polls_total", provider="youcom", account="search")
        return polls is not None and polls > before

    await wait_for(others_update)
    # Liveness, not a benchmark (bench/scrape.py measures): scrapes complete while it hangs.
    started = time.monotonic()
    for _ in range(20):
        await stack.scrape()
    assert time.monotonic() - started < 10


async def test_promtool_finds_nothing_to_say(stack: Stack) -> None:
    promtool = require_tool("promtool", "prometheus")
    async with stack.session.get(f"{stack.url}/metrics") as response:
        exposition = await response.read()
    process = await asyncio.create_subprocess_exec(
        promtool, "check", "metrics", stdin=PIPE, stdout=PIPE, stderr=PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(exposition), 60)
    assert (process.returncode, stdout, stderr) == (0, b"", b"")
