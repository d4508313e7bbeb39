"""The HTTP server: landing page, health, readiness, reload, headers, and scrapes during a hang."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from fakeclock import FakeClock, settle
from support import FakeReload, balances, scheduled, serving

from balance_exporter.config.account import AccountConfig
from balance_exporter.config.secret import Secret
from balance_exporter.metrics.reading import Reading
from balance_exporter.metrics.snapshot import SnapshotStore
from balance_exporter.polling.backoff import START_SPREAD
from balance_exporter.polling.errors import PollError, Reason
from balance_exporter.providers.telnyx import TelnyxSettings
from balance_exporter.web.server import LANDING_CSP, RENDERER

T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC
CANARY = "canary-http-4Kd9-do-not-leak"
SCRIPT_NAME = "<script>alert(1)</script>"
LIVENESS = 5.0  # generous seconds for a request that must not wait on a provider


def account(name: str, provider: str = "telnyx") -> AccountConfig:
    return AccountConfig(
        name=name,
        provider=provider,
        interval=60.0,
        timeout=15.0,
        settings=TelnyxSettings(api_key=Secret(CANARY)),
    )


def populated_store() -> SnapshotStore:
    store = SnapshotStore()
    store.set_accounts(
        [
            account("sms-eu"),
            account("voice", "twilio"),
            account("setup", "23telecom"),
            account("gateway", "23telecom"),
            account("never", "youcom"),
            account(SCRIPT_NAME, "clickatell"),
        ]
    )
    good = Reading(currency="USD", balance=Decimal("12.50"))
    store.update("sms-eu", lambda state: state.with_reading(good, T0, 0.1))
    store.update("gateway", lambda state: state.with_reading(good, T0, 0.1))
    degraded = Reading(currency="USD", degraded=True)
    store.update("gateway", lambda state: state.with_reading(degraded, T0 + 60, 0.1))
    store.update("setup", lambda state: state.with_reading(Reading(ready=False), T0, 0.1))
    failure = PollError(Reason.AUTH, "bad key <b>here</b>", status=401)
    store.update("voice", lambda state: state.with_failure(failure, T0, 0.1))
    credits = Reading(currency="credits", balance=Decimal("300.50"))
    store.update(SCRIPT_NAME, lambda state: state.with_reading(credits, T0 + 3661, 0.1))
    return store


def rows(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [row for row in body.strip().split("\n") if row]


async def test_landing_page_lists_every_account_escaped() -> None:
    async with serving(populated_store()) as client:
        response = await client.get("/")
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        page = await response.text()

    assert rows(page) == [
        "<tr><td>telnyx</td><td>sms-eu</td><td>ok</td><td>2026-01-01 00:00:00 UTC</td>"
        "<td>12.50 USD</td><td></td></tr>",
        "<tr><td>twilio</td><td>voice</td><td>failing: auth</td><td>never</td>"
        "<td>-</td><td>bad key &lt;b&gt;here&lt;/b&gt;</td></tr>",
        "<tr><td>23telecom</td><td>setup</td><td>in setup</td><td>never</td>"
        "<td>-</td><td></td></tr>",
        "<tr><td>23telecom</td><td>gateway</td><td>degraded</td><td>2026-01-01 00:00:00 UTC</td>"
        "<td>12.50 USD</td><td></td></tr>",
        "<tr><td>youcom</td><td>never</td><td>waiting for first poll</td><td>never</td>"
        "<td>-</td><td></td></tr>",
        "<tr><td>clickatell</td><td>&lt;script&gt;alert(1)&lt;/script&gt;</td><td>ok</td>"
        "<td>2026-01-01 01:01:01 UTC</td><td>300.50 credits</td><td></td></tr>",
    ]
    assert "<script" not in page
    assert "<b>" not in page
    assert '<a href="/metrics">' in page
    assert CANARY not in page


async def test_landing_page_links_to_a_custom_telemetry_path() -> None:
    async with serving(populated_store(), telemetry_path="/custom") as client:
        page = await (await client.get("/")).text()
        assert '<a href="/custom">' in page
        assert (await client.get("/custom")).status == 200
        assert (await client.get("/metrics")).status == 404


async def test_landing_page_has_a_content_security_policy() -> None:
    async with serving(populated_store()) as client:
        response = await client.get("/")
    assert response.headers["Content-Security-Policy"] == LANDING_CSP
    assert "default-src 'none'" in LANDING_CSP
    assert "script-src" not in LANDING_CSP  # falls back to 'none': no script runs


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),
        ("GET", "/metrics", 200),
        ("GET", "/-/healthy", 200),
        ("GET", "/-/ready", 503),
        ("POST", "/-/reload", 200),
        ("GET", "/-/reload", 405),
        ("GET", "/no/such/page", 404),
    ],
)
async def test_every_response_says_nosniff(method: str, path: str, status: int) -> None:
    async with serving(populated_store()) as client:
        response = await client.request(method, path)
        assert response.status == status
        assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_healthy() -> None:
    async with serving(SnapshotStore()) as client:
        response = await client.get("/-/healthy")
        assert (response.status, await response.text()) == (200, "Healthy\n")


async def test_ready_only_once_every_account_had_its_first_poll_attempt() -> None:
    store = SnapshotStore()
    store.set_accounts([account("a"), account("b")])
    async with serving(store) as client:
        response = await client.get("/-/ready")
        assert (response.status, await response.text()) == (
            503,
            "Not ready: 2 account(s) not polled yet\n",
        )

        good = Reading(currency="USD", balance=Decimal("1"))
        store.update("a", lambda state: state.with_reading(good, T0, 0.1))
        assert (await client.get("/-/ready")).status == 503

        renderer = client.app[RENDERER]
        held = asyncio.Event()

        async def held_refresh() -> None:
            await held.wait()

        real_refresh = renderer._refresh_all
        renderer._refresh_all = held_refresh  # type: ignore[method-assign]
        failure = PollError(Reason.TIMEOUT, "no answer")
        store.update("b", lambda state: state.with_failure(failure, T0, 15.0))
        # Every account has been polled, but /metrics does not show it yet: not ready.
        response = await client.get("/-/ready")
        assert (response.status, await response.text()) == (
            503,
            "Not ready: rendering the first polls\n",
        )
        renderer._refresh_all = real_refresh  # type: ignore[method-assign]
        held.set()
        await renderer.settled()
        response = await client.get("/-/ready")
        assert (response.status, await response.text()) == (200, "Ready\n")
        assert balances(await (await client.get("/metrics")).text()) == {"a": 1.0}


async def test_ready_follows_the_scheduler() -> None:
    clock = FakeClock()

    async def poll(account: AccountConfig) -> Reading:
        if account.name == "down":
            raise PollError(Reason.NETWORK, "refused")
        return Reading(currency="USD", balance=Decimal("5"))

    async with scheduled(clock, poll, 2, [account("up"), account("down")]) as client:
        assert (await client.get("/-/ready")).status == 503
        await clock.advance(START_SPREAD)
        await client.app[RENDERER].settled()
        assert (await client.get("/-/ready")).status == 200


async def test_reload_reports_problems_with_500() -> None:
    problems = [
        "balance-exporter.yml: accounts[0] 'sms-eu': api_key: environment variable TELNYX unset",
        "balance-exporter.yml: accounts[1] 'voice': interval: not a duration",
    ]
    reload = FakeReload(problems)
    async with serving(SnapshotStore(), reload) as client:
        response = await client.post("/-/reload")
        assert response.status == 500
        assert await response.text() == "failed to reload config:\n" + "\n".join(problems) + "\n"
    assert reload.calls == 1


async def test_reload_without_problems_answers_200() -> None:
    reload = FakeReload()
    async with serving(SnapshotStore(), reload) as client:
        response = await client.post("/-/reload")
        assert (response.status, await response.text()) == (200, "config reloaded\n")
        assert (await client.get("/-/reload")).status == 405  # only POST reloads
    assert reload.calls == 1


async def test_reload_over_http_is_off_unless_the_lifecycle_api_is_enabled() -> None:
    reload = FakeReload()
    async with serving(SnapshotStore(), reload, lifecycle=False) as client:
        response = await client.post("/-/reload")
        assert (response.status, await response.text()) == (
            403,
            "Lifecycle API is not enabled.\n",
        )
    assert reload.calls == 0


async def test_reload_answers_once_the_config_is_in_force_not_once_rendered() -> None:
    # Polls finishing all the time keep the renderer busy: the reload must not wait for it.
    store = SnapshotStore()
    store.set_accounts([account("a")])
    async with serving(store, FakeReload()) as client:
        renderer = client.app[RENDERER]
        await client.get("/metrics")
        never = asyncio.Event()

        async def endless_refresh() -> None:
            await never.wait()

        renderer._refresh_all = endless_refresh  # type: ignore[method-assign]
        store.set_reload(True, 1.0)  # a change: a refresh starts, and never ends
        async with asyncio.timeout(LIVENESS):
            response = await client.post("/-/reload")
        assert response.status == 200


async def test_metrics_answer_while_a_provider_hangs() -> None:
    clock = FakeClock()
    started = asyncio.Event()

    async def poll(account: AccountConfig) -> Reading:
        if account.name == "hung":
            started.set()
            await asyncio.Event().wait()  # a provider that never answers
        return Reading(currency="EUR", balance=Decimal("20.00"))

    async with scheduled(clock, poll, 3, [account("hung"), account("fine")]) as client:
        await clock.advance(START_SPREAD)
        assert started.is_set()
        await settle()
        async with asyncio.timeout(LIVENESS):  # liveness, not performance
            response = await client.get("/metrics")
            text = await response.text()
            landing = await client.get("/")
            health = await client.get("/-/healthy")
        assert (response.status, landing.status, health.status) == (200, 200, 200)
        assert balances(text) == {"fine": 20.0}
        assert client.app[RENDERER].renders == 1
        assert CANARY not in text
