"""The HTTP server: landing page, health, readiness, reload, headers, and scrapes during a hang."""

from __future__ import annotations

import asyncio
import gzip
from decimal import Decimal

import pytest
from fakeclock import FakeClock, settle
from support import Client, FakeReload, LandingTable, balances, scheduled, serving

from balance_exporter.config.account import AccountConfig
from balance_exporter.config.secret import Secret
from balance_exporter.metrics.reading import Reading
from balance_exporter.metrics.renderer import MAX_PAGES, PAGE_MAX_AGE
from balance_exporter.metrics.snapshot import AccountState, SnapshotStore
from balance_exporter.polling.backoff import START_SPREAD
from balance_exporter.polling.errors import PollError, Reason
from balance_exporter.providers.telnyx import TelnyxSettings
from balance_exporter.web.server import LANDING_CSP, RENDERER
from balance_exporter.web.status import Status

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


SEEN = T0 + 120.0  # the time the landing page sees: the figures of T0 are not stale yet


def table(page: str) -> LandingTable:
    return LandingTable(page)


async def landing(client: Client, query: str = "", **headers: str) -> str:
    response = await client.get(f"/{query}", headers=headers)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    return await response.text()


async def test_landing_page_lists_every_account_worst_first_escaped() -> None:
    async with serving(populated_store(), now=lambda: SEEN) as client:
        page = await landing(client)

    found = table(page)
    assert [(row["Status"], row["Account"], row["Provider"]) for row in found.rows] == [
        ("failing", "voice", "twilio"),
        ("degraded", "gateway", "23telecom"),
        ("in setup", "setup", "23telecom"),
        ("waiting", "never", "youcom"),
        ("ok", "sms-eu", "telnyx"),
        ("ok", SCRIPT_NAME, "clickatell"),
    ]
    assert found.classes == ["failing", "degraded", "setup", "waiting", "ok", "ok"]
    rows = found.by_account()
    assert rows["sms-eu"]["Balance"] == "12.50 USD"
    assert rows["sms-eu"]["Last success"] == "2026-01-01 00:00:00 UTC"
    assert rows["sms-eu"]["Interval"] == "1m"
    assert rows[SCRIPT_NAME]["Balance"] == "300.50 credits"
    assert rows[SCRIPT_NAME]["Last success"] == "2026-01-01 01:01:01 UTC"
    assert rows["voice"]["Details"] == (
        "failing (auth) since 2026-01-01 00:00:00 UTC, next try —: bad key <b>here</b>"
    )
    assert rows["gateway"]["Details"] == (
        "the provider flags its answer as degraded: no reason given"
    )
    assert rows["never"]["Balance"] == "—"
    assert "<script" not in page
    assert "<b>" not in page
    assert "&lt;b&gt;here&lt;/b&gt;" in page
    assert '<a href="/metrics">' in page
    assert CANARY not in page


def money_store() -> SnapshotStore:
    """Accounts that spend, get topped up, run low and get blocked."""
    store = SnapshotStore()
    store.set_accounts(
        [
            AccountConfig("steady", "telnyx", 60.0, 15.0),
            AccountConfig("voice", "twilio", 60.0, 15.0, low_balance=Decimal("100")),
            AccountConfig("sms-uk-empty", "23telecom", 60.0, 15.0),
            AccountConfig("credit", "telnyx", 60.0, 15.0, low_balance=Decimal("50")),
            AccountConfig("quiet", "telnyx", 60.0, 15.0),
        ]
    )
    for minute, figure in enumerate(["120", "110", "84.27"]):
        reading = Reading(currency="USD", balance=Decimal(figure))

        def read(state: AccountState, reading: Reading = reading, at: int = minute) -> AccountState:
            return state.with_reading(reading, T0 + 60 * at, 0.1)

        store.update("voice", read)
    blocked = Reading(currency="EUR", balance=Decimal("0"), credit_blocked=True)
    store.update("sms-uk-empty", lambda s: s.with_reading(blocked, T0, 0.1, T0 + 60))
    steady = Reading(currency="USD", balance=Decimal("1000"))
    store.update("steady", lambda s: s.with_reading(steady, T0, 0.1, T0 + 60))
    credit = Reading(
        currency="USD",
        balance=Decimal("-20"),
        credit_limit=Decimal("500"),
        available_credit=Decimal("480"),
    )
    store.update("credit", lambda s: s.with_reading(credit, T0, 0.1))
    quiet = Reading(currency="USD", balance=Decimal("5"))
    store.update("quiet", lambda s: s.with_reading(quiet, T0 - 600, 0.1))  # stale by SEEN
    return store


async def test_landing_page_shows_money_threshold_spending_and_polls() -> None:
    async with serving(money_store(), now=lambda: SEEN) as client:
        found = table(await landing(client))
    assert [row["Status"] for row in found.rows] == [
        "blocked",
        "below threshold",
        "stale",
        "ok",
        "ok",
    ]
    rows = found.by_account()
    assert rows["sms-uk-empty"]["Status"] == "blocked"
    assert rows["sms-uk-empty"]["Details"] == "the provider says sending is blocked"
    assert rows["sms-uk-empty"]["Next poll"] == "2026-01-01 00:01:00 UTC"
    voice = rows["voice"]
    assert (voice["Status"], voice["Balance"], voice["Threshold"]) == (
        "below threshold",
        "84.27 USD",
        "100.00 USD",
    )
    assert voice["Details"] == "balance 84.27 USD is below the threshold 100.00 USD"
    # 35.73 spent in two minutes: 84.27 lasts 84.27 / (35.73 * 720) days.
    assert voice["Days to zero"] == f"{84.27 / (35.73 * 720):.2g}" == "0.0033"  # under 1: hours
    assert rows["steady"]["Days to zero"] == "—"  # no spending seen
    credit = rows["credit"]
    assert (credit["Balance"], credit["Available credit"], credit["Credit limit"]) == (
        "-20.00 USD",
        "480.00 USD",
        "500.00 USD",
    )
    assert credit["Threshold"] == "50.00 USD"
    assert rows["quiet"]["Details"] == "no trustworthy reading since 2025-12-31 23:50:00 UTC"
    # A sparkline of the account's readings, with words for those who cannot see it.
    spark = dict(zip((row["Account"] for row in found.rows), found.sparklines, strict=True))
    assert spark["voice"] == "last 3 figures, from 84.27 USD to 120.00 USD"
    assert spark["steady"] is None  # one reading: no line to draw


async def test_rows_are_filtered_by_provider_and_status() -> None:
    async with serving(money_store(), now=lambda: SEEN) as client:
        telnyx = table(await landing(client, "?provider=telnyx"))
        assert [row["Account"] for row in telnyx.rows] == ["quiet", "steady", "credit"]
        ok = table(await landing(client, "?status=ok&provider=telnyx"))
        assert [row["Account"] for row in ok.rows] == ["steady", "credit"]
        worst = table(await landing(client, "?status=blocked&status=below-threshold"))
        assert [row["Account"] for row in worst.rows] == ["sms-uk-empty", "voice"]
        none = table(await landing(client, "?provider=youcom"))
        assert none.rows == []
        # Keys the page does not know are no filter; values it does not know are refused.
        assert len(table(await landing(client, "?cache=1")).rows) == 5
        for query, line in [
            ("?status=fine", "unknown status 'fine': one of blocked, below-threshold, "),
            ("?provider=<b>", "unknown provider '<b>': one of 23telecom, "),
        ]:
            response = await client.get(f"/{query}")
            text = await response.text()
            assert response.status == 400
            assert text.startswith(line)
            assert text.count("\n") == 1
            assert response.headers["Content-Type"].startswith("text/plain")


async def test_the_page_is_made_off_the_loop_once_per_change_and_kept() -> None:
    store = money_store()
    async with serving(store, now=lambda: SEEN) as client:
        renderer = client.app[RENDERER]
        first = await landing(client)
        made = renderer.pages_made
        for _ in range(5):
            assert await landing(client) == first
        assert renderer.pages_made == made  # nothing changed: the kept page

        reading = Reading(currency="USD", balance=Decimal("999"))
        store.update("steady", lambda s: s.with_reading(reading, T0 + 60, 0.1))
        await renderer.settled()  # a refresh made the page again, in the render thread
        assert renderer.pages_made == made + 1
        assert table(await landing(client)).by_account()["steady"]["Balance"] == "999.00 USD"
        assert renderer.pages_made == made + 1

        for query in [f"?status={status.slug}" for status in Status] + ["?provider=telnyx"]:
            await landing(client, query)
        assert len(renderer._pages) <= 1 + MAX_PAGES  # the whole page and a few filtered ones


async def test_the_page_ages_even_when_nothing_changes() -> None:
    stale_from = T0 + 3 * 60  # three intervals without a trustworthy reading
    now = [stale_from - 1]
    async with serving(money_store(), now=lambda: now[0]) as client:
        assert table(await landing(client)).by_account()["steady"]["Status"] == "ok"
        now[0] = stale_from + 1
        assert table(await landing(client)).by_account()["steady"]["Status"] == "ok"  # kept
        now[0] += PAGE_MAX_AGE
        assert table(await landing(client)).by_account()["steady"]["Status"] == "stale"


async def test_the_page_is_gzipped_when_the_browser_accepts_it() -> None:
    async with serving(money_store(), now=lambda: SEEN, auto_decompress=False) as client:
        plain = await client.get("/", headers={"Accept-Encoding": "identity"})
        zipped = await client.get("/", headers={"Accept-Encoding": "gzip, deflate"})
        assert "Content-Encoding" not in plain.headers
        assert zipped.headers["Content-Encoding"] == "gzip"
        assert zipped.headers["Vary"] == "Accept-Encoding"
        assert gzip.decompress(await zipped.read()) == await plain.read()


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
