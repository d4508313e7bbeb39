"""The landing page rendered by a real browser, and the headers of every page.

A daemon (config file, web config file, scheduler, HTTP server) runs in the test's event loop
against a fake provider on 127.0.0.1; its accounts are named with HTML and script payloads and
one provider answers with an error text made of HTML. Debian's headless ``chromium`` loads the
page (``--dump-dom``): no script ran, no element was injected, and the table shows every name
and error text as text. The same step saves a screenshot under ``test-artifacts/``.

The demo is read the same way: ``balance-exporter --demo`` as a real process, whose blocked
and below-threshold accounts must read as such and an ordinary one as ok; and the demo's
simulator and configuration run in the test's loop on a fake clock, polled for minutes of
simulated time, for a screenshot with sparklines, spending, a degraded account and one in
setup (the README shows it).

Two control pages keep the browser check honest: a page with a script shows that a script
that runs is seen, and the same page under the landing page's CSP shows the browser blocks it.
The landing page's HTML is also rendered without its CSP: escaping alone keeps it inert.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from fakeclock import FakeClock, wait_until
from prometheus_harness import ExporterProcess, environment, free_port
from prometheus_harness import wait_until as wait_real
from support import LandingTable, bcrypt_hash, require_tool

from balance_exporter.config.checker import load_config
from balance_exporter.config.webconfig import load_web_config
from balance_exporter.daemon import Daemon
from balance_exporter.demo import demo_accounts, demo_config, serve_app, start_simulator
from balance_exporter.metrics.snapshot import AccountState
from balance_exporter.polling.backoff import START_SPREAD
from balance_exporter.simulator import Simulator
from balance_exporter.simulator.providers import telnyx as telnyx_sim
from balance_exporter.simulator.scenarios import DrainAndTopUp
from balance_exporter.web.landing import when as shown_time
from balance_exporter.web.server import LANDING_CSP, RENDERER

in_module_loop = pytest.mark.asyncio(loop_scope="module")

USER = "viewer"
PASSWORD = "landing-pw-Tz81"
GOOD_KEY = "landing-good-key"
BAD_KEY = "landing-refused-key"
TITLE = "balance-exporter"
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOT = ARTIFACTS / "landing-page.png"
DEMO_SCREENSHOT = ARTIFACTS / "landing-page-demo.png"
DEMO_LIVE_SCREENSHOT = ARTIFACTS / "landing-page-demo-process.png"
README_SCREENSHOT = ROOT / "docs" / "landing-page.png"  # a copy of DEMO_SCREENSHOT
WINDOW = (1200, 900)
DEMO_WINDOW = (1600, 1600)
# Simulated seconds of the demo for its screenshot: sms-uk is degraded (from 360 s for 90 s),
# long enough to be stale,
# bulk-za rate limited (from 390 s for 45 s), and every account has some 25 readings.
DEMO_SECONDS = 420.0
DEMO_READY = 30.0  # seconds for the demo process's first polls (spread over 5 s)
BROWSER_DEADLINE = 30.0  # seconds for one headless Chromium run (about 1 s here)
PROFILES = itertools.count()  # each Chromium run gets a new, empty profile directory
HTML_ERROR = (
    "<img src=x onerror=\"document.title='pwned-error'\">"
    "<script>document.title='pwned-error-script'</script><b>bold</b>"
)

# Account name -> (provider, its config lines, the balance the page shows). Every name is a
# payload or a trap for escaping.
ACCOUNTS = {
    "<script>alert(1)</script>": ("telnyx", f"api_key: {GOOD_KEY}", "42.50 USD"),
    "\"><img src=x onerror=document.title='pwned'>": (
        "youcom",
        f"api_key: {GOOD_KEY}",
        "12.34 USD",
    ),
    "<script>document.title='pwned-script'</script>": (
        "23telecom",
        f"api_key: {GOOD_KEY}",
        "7.00 EUR",
    ),
    "<svg onload=\"document.body.append('pwned-svg')\"></svg>": (
        "clickatell",
        f"api_key: {GOOD_KEY}",
        "300.5 credits",
    ),
    "</td></tr></table><h1 id=injected>injected</h1>": (
        "clickatell",
        f"api: platform\n    api_key: {GOOD_KEY}",
        "99.50 ZAR",
    ),
    "&lt;b&gt; stays literal &amp;": ("telnyx", f"api_key: {GOOD_KEY}", "42.50 USD"),
    "provider-error": ("telnyx", f"api_key: {BAD_KEY}", "—"),
}
FAILING = "provider-error"
# The elements the landing page is made of; an injected one would show up as another.
PAGE_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "h1",
    "p",
    "ul",
    "li",
    "a",
    "h2",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
CONTROL_PAGE = (
    "<!DOCTYPE html><html><head><title>control</title></head><body>"
    "<script>document.title='script-ran';"
    "document.body.appendChild(document.createElement('img')).id='added';</script>"
    "</body></html>"
)


# --- a fake provider and extra pages ---------------------------------------------------------


def provider_app() -> web.Application:
    """Telnyx, You.com, 23 Telecom and both Clickatell APIs; BAD_KEY gets an HTML error text."""

    async def telnyx(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {GOOD_KEY}":
            return telnyx_sim.error(401, "10009", "Authentication failed", HTML_ERROR)
        return web.json_response({"data": {"balance": "42.50", "currency": "USD"}})

    async def youcom(request: web.Request) -> web.Response:
        return web.json_response({"data": {"id": "ent_1", "attributes": {"balance": 1234}}})

    async def telecom23(request: web.Request) -> web.Response:
        return web.json_response({"balance": "7.00", "currency": "EUR"})

    async def clickatell(request: web.Request) -> web.Response:
        return web.json_response({"data": {"balance": "300.5"}})

    async def clickatell_platform(request: web.Request) -> web.Response:
        return web.json_response({"balance": 99.5, "currency": "ZAR"})

    app = web.Application()
    app.router.add_get("/v2/balance", telnyx)
    app.router.add_get("/v1/billing/account_balance", youcom)
    app.router.add_get("/api/v1/user/balance", telecom23)
    app.router.add_get("/rest/account/balance", clickatell)
    app.router.add_get("/public-client/balance", clickatell_platform)
    return app


@dataclass
class Pages:
    """Pages the browser loads besides the exporter's: controls and a copy without CSP."""

    landing_copy: str = ""

    def app(self) -> web.Application:
        async def control(request: web.Request) -> web.Response:
            return web.Response(text=CONTROL_PAGE, content_type="text/html")

        async def control_with_csp(request: web.Request) -> web.Response:
            return web.Response(
                text=CONTROL_PAGE,
                content_type="text/html",
                headers={"Content-Security-Policy": LANDING_CSP},
            )

        async def copy(request: web.Request) -> web.Response:
            return web.Response(text=self.landing_copy, content_type="text/html")

        app = web.Application()
        app.router.add_get("/control", control)
        app.router.add_get("/control-csp", control_with_csp)
        app.router.add_get("/landing-without-csp", copy)
        return app


@dataclass
class Running:
    exporter: str  # http://127.0.0.1:port
    pages: str
    page_copy: Pages
    workdir: Path
    # Account name -> its last success as the page must show it (the fake clock's time).
    last_success: dict[str, str]
    states: dict[str, AccountState]


def write_config(path: Path, provider_url: str) -> None:
    lines = ["global: {min_interval: 1s}", "defaults: {interval: 1m, timeout: 5s}", "accounts:"]
    for name, (provider, settings, _) in ACCOUNTS.items():
        quoted = name.replace("'", "''")
        lines += [
            f"  - name: '{quoted}'",
            f"    provider: {provider}",
            f"    {settings}",
            f"    base_url: {provider_url}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Running]:
    workdir = tmp_path_factory.mktemp("landing")
    provider = await serve_app(provider_app())
    page_copy = Pages()
    pages = await serve_app(page_copy.app())

    config_path = workdir / "exporter.yml"
    write_config(config_path, provider.url)
    hashed = bcrypt_hash(PASSWORD)
    web_path = workdir / "web.yml"
    web_path.write_text(
        f"http_server_config:\n  headers:\n    X-Frame-Options: DENY\n"
        f"basic_auth_users:\n  {USER}: '{hashed}'\n",
        encoding="utf-8",
    )
    clock = FakeClock()
    daemon = Daemon(
        config_path,
        load_config(config_path),
        clock=clock,
        web_config_path=web_path,
        web_config=load_web_config(web_path),
    )
    exporter = await serve_app(daemon.app(lifecycle=True))
    try:
        await daemon.start()
        await clock.wait_for_sleepers(len(ACCOUNTS))
        await clock.advance(START_SPREAD)  # every first poll is due

        def every_account_polled() -> bool:
            return all(state.up is not None for state in daemon.store.snapshot.accounts)

        await wait_until(every_account_polled, 10.0, "every account's first poll")
        last_success = {
            state.name: "never"
            if state.last_success is None
            else datetime.fromtimestamp(state.last_success, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            for state in daemon.store.snapshot.accounts
        }
        states = {state.name: state for state in daemon.store.snapshot.accounts}
        yield Running(exporter.url, pages.url, page_copy, workdir, last_success, states)
    finally:
        await daemon.stop()
        for served in (exporter, pages, provider):
            await served.stop()


# --- reading what the browser shows ----------------------------------------------------------


class Dom(HTMLParser):
    """Tags, title, text and accounts table of a serialized DOM (entities decoded)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.ids: list[str] = []
        self.title = ""
        self.text: list[str] = []
        self._in: list[str] = []
        self.feed(html)
        self.close()
        self.table = LandingTable(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.ids += [value or "" for name, value in attrs if name == "id"]
        if tag not in ("meta",):
            self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._in:
            while self._in.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if "title" in self._in:
            self.title += data
        elif "tbody" in self._in:
            pass  # the table's text is the accounts': read as cells, in self.table
        elif "body" in self._in and "script" not in self._in and "style" not in self._in:
            self.text.append(data)


async def chromium(workdir: Path, *args: str) -> str:
    """Run headless Chromium once with its own profile; its stdout."""
    binary = require_tool("chromium", "chromium")
    profile = workdir / f"chromium-profile-{next(PROFILES)}"
    profile.mkdir()
    process = await asyncio.create_subprocess_exec(
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-proxy-server",
        f"--user-data-dir={profile}",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment(HOME=str(profile)),
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), BROWSER_DEADLINE)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(
            f"chromium did not finish within {BROWSER_DEADLINE:g}s; a page that opens a dialog "
            "(a script calling alert()) never finishes loading in headless mode"
        ) from None
    assert process.returncode == 0, stderr.decode(errors="replace")[-2000:]
    return stdout.decode()


def authorization(user: str, password: str) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(user, password)}


def with_credentials(url: str) -> str:
    return url.replace("http://", f"http://{USER}:{PASSWORD}@", 1)


def assert_inert(dom: Dom, running: Running) -> None:
    """The landing page as served: nothing ran, nothing was added, every cell is text."""
    assert dom.title == TITLE  # every payload would have changed it
    assert set(dom.tags) == PAGE_TAGS, set(dom.tags) ^ PAGE_TAGS
    assert dom.tags.count("h1") == 1
    assert dom.ids == []
    assert not any("pwned" in text for text in dom.text)
    failing = running.states[FAILING]
    error = (
        f"failing (auth) since {shown_time(failing.failing_since)}, next try "
        f"{shown_time(failing.next_poll)}: HTTP 401, telnyx code 10009: {HTML_ERROR}"
    )
    # Worst first: the failing account, then the others in the configuration's order.
    order = [FAILING, *(name for name in ACCOUNTS if name != FAILING)]
    expected = [
        (
            "failing" if name == FAILING else "ok",
            name,
            ACCOUNTS[name][0],
            running.last_success[name],
            ACCOUNTS[name][2],
            error if name == FAILING else "",
        )
        for name in order
    ]
    found = [
        (
            row["Status"],
            row["Account"],
            row["Provider"],
            row["Last success"],
            row["Balance"],
            row["Details"],
        )
        for row in dom.table.rows
    ]
    assert found == expected


# --- tests -------------------------------------------------------------------------------------


@in_module_loop
async def test_chromium_shows_every_payload_as_text_and_runs_no_script(running: Running) -> None:
    url = with_credentials(f"{running.exporter}/")
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{running.exporter}/", headers=authorization(USER, PASSWORD)) as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Security-Policy"] == LANDING_CSP
        running.page_copy.landing_copy = await response.text()
    assert running.last_success[FAILING] == "never"
    for name, when in running.last_success.items():  # first polls, on the fake clock
        assert name == FAILING or when.startswith("2026-01-01 00:00:"), (name, when)

    served, copy, control, control_csp = await asyncio.gather(
        chromium(running.workdir, "--dump-dom", url),
        chromium(running.workdir, "--dump-dom", f"{running.pages}/landing-without-csp"),
        chromium(running.workdir, "--dump-dom", f"{running.pages}/control"),
        chromium(running.workdir, "--dump-dom", f"{running.pages}/control-csp"),
    )

    # The browser runs a script when there is one, and the landing page's CSP stops it.
    assert (Dom(control).title, Dom(control).ids) == ("script-ran", ["added"])
    assert (Dom(control_csp).title, Dom(control_csp).ids) == ("control", [])
    # The page as served, and its HTML without the CSP: escaping alone keeps it inert.
    assert_inert(Dom(served), running)
    assert_inert(Dom(copy), running)

    await screenshot(running.workdir, url, SCREENSHOT, WINDOW)


def png_size(path: Path) -> tuple[int, int]:
    png = path.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def fresh_artifact(path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path.unlink(missing_ok=True)


async def screenshot(workdir: Path, url: str, path: Path, window: tuple[int, int]) -> None:
    """Chromium's screenshot of ``url`` at ``path`` (under test-artifacts/), checked a PNG."""
    fresh_artifact(path)
    await chromium(
        workdir,
        f"--screenshot={path}",
        f"--window-size={window[0]},{window[1]}",
        "--hide-scrollbars",
        url,
    )
    assert png_size(path) == window
    print(f"landing page screenshot: {path}")


def assert_reads_as(rows: dict[str, dict[str, str]], name: str, status: str) -> None:
    assert rows[name]["Status"] == status, (name, rows[name])


@in_module_loop
async def test_chromium_reads_the_demo_blocked_and_below_threshold_as_such(
    tmp_path: Path,
) -> None:
    """``balance-exporter --demo``, a real process, right after its first polls."""
    address = f"127.0.0.1:{free_port()}"
    url = f"http://{address}/"
    exporter = ExporterProcess("--demo", "--web.listen-address", address, cwd=tmp_path)
    async with exporter, aiohttp.ClientSession() as session:

        async def ready() -> bool:
            try:
                async with session.get(f"{url}-/ready") as response:
                    return response.status == 200
            except aiohttp.ClientConnectionError:
                return False  # not listening yet

        await wait_real(ready, "the demo's /-/ready to answer 200", DEMO_READY)
        dom = Dom(await chromium(tmp_path, "--dump-dom", url))
        await screenshot(tmp_path, url, DEMO_LIVE_SCREENSHOT, DEMO_WINDOW)
    assert exporter.returncode == 0

    assert dom.title == TITLE
    rows = dom.table.by_account()
    assert set(rows) == set(demo_accounts())
    # The demo's 23 Telecom account with nothing left, that the provider blocks...
    assert_reads_as(rows, "sms-uk-empty", "blocked")
    assert rows["sms-uk-empty"]["Balance"] == "0.00 EUR"
    assert rows["sms-uk-empty"]["Details"] == "the provider says sending is blocked"
    # ...its Twilio account with 84.27 USD under a 100 USD threshold...
    assert_reads_as(rows, "voice", "below threshold")
    assert (rows["voice"]["Balance"], rows["voice"]["Threshold"]) == ("84.27 USD", "100.00 USD")
    # ...and an ordinary one.
    assert_reads_as(rows, "search", "ok")
    assert rows["search"]["Balance"] == "7189.245 USD"
    assert_reads_as(rows, "sms-uk-onboarding", "in setup")
    assert_reads_as(rows, "voice-subaccount", "failing")
    statuses = [row["Status"] for row in dom.table.rows]
    assert statuses[:2] == ["blocked", "below threshold"]  # worst first
    assert dom.table.classes[0] == "blocked"  # the colour goes with the word


@in_module_loop
async def test_chromium_shows_the_demo_after_minutes_of_polls(tmp_path: Path) -> None:
    """The demo's simulator and configuration on a fake clock, in this loop: sparklines,
    spending, a degraded account with the provider's reason. Its screenshot is the README's."""
    clock = FakeClock()
    simulator = Simulator(clock=clock.monotonic)
    for name, (account, _) in demo_accounts().items():
        simulator.add(name, account)
    provider = await start_simulator(simulator)
    config = demo_config(provider.url)
    daemon = Daemon(lambda: config, config, clock=clock)
    app = daemon.app()
    exporter = await serve_app(app)
    accounts = len(config.accounts)
    try:
        await daemon.start()
        await clock.wait_for_sleepers(accounts)
        while clock.monotonic() < DEMO_SECONDS:
            await clock.advance(5.0)
            await clock.wait_for_sleepers(accounts)  # every poll due by now has answered
        await app[RENDERER].settled()
        url = f"{exporter.url}/"
        dom = Dom(await chromium(tmp_path, "--dump-dom", url))
        await screenshot(tmp_path, url, DEMO_SCREENSHOT, DEMO_WINDOW)
        dumped_filter = Dom(await chromium(tmp_path, "--dump-dom", f"{url}?provider=23telecom"))
    finally:
        await daemon.stop()
        await exporter.stop()
        await provider.stop()

    rows = dom.table.by_account()
    assert_reads_as(rows, "sms-uk-empty", "blocked")
    assert_reads_as(rows, "voice", "below threshold")
    assert_reads_as(rows, "search", "ok")
    # Degraded for a minute now: more than three intervals without a trustworthy reading.
    assert_reads_as(rows, "sms-uk", "stale")
    assert re.fullmatch(
        r"no trustworthy reading since 2026-01-01 00:05:\d\d UTC; "
        r"the provider flags its answer as degraded: \S+",
        rows["sms-uk"]["Details"],
    ), rows["sms-uk"]["Details"]
    assert rows["sms-uk"]["Balance"] == "1250.50 EUR"  # the last trustworthy figure stays
    assert_reads_as(rows, "bulk-za", "failing")
    assert re.fullmatch(r"failing \(rate_limited\) since 2026-01-01 .*", rows["bulk-za"]["Details"])
    spark = dict(zip((row["Account"] for row in dom.table.rows), dom.table.sparklines, strict=True))
    draining = [
        name
        for name, (account, _) in demo_accounts().items()
        if isinstance(account.scenario, DrainAndTopUp)
    ]
    assert draining
    for name in draining:  # they spend: a line, and a date with zero
        label = spark[name]
        assert label is not None
        assert re.fullmatch(r"last (\d+) figures, from .* to .*", label), label
        assert int(label.split()[1]) >= 20
        assert re.fullmatch(r"[\d,.]+", rows[name]["Days to zero"]), (name, rows[name])
    assert rows["search"]["Days to zero"] == "—"  # a steady account spends nothing
    assert dom.tags.count("svg") == sum(label is not None for label in spark.values())
    assert dom.tags.count("script") == 0
    filtered = dumped_filter.table.by_account()
    assert set(filtered) == {"sms-uk", "sms-uk-onboarding", "sms-uk-empty"}
    assert [row["Status"] for row in dumped_filter.table.rows] == ["blocked", "stale", "ok"]


def test_the_readme_shows_the_demo_screenshot() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"]({README_SCREENSHOT.relative_to(ROOT)})" in readme
    assert png_size(README_SCREENSHOT) == DEMO_WINDOW


def csp_directives(policy: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *values = part.split()
        assert name not in directives, f"{name} given twice"
        directives[name] = values
    return directives


def test_the_landing_csp_allows_no_script() -> None:
    assert csp_directives(LANDING_CSP) == {
        "default-src": ["'none'"],
        "style-src": ["'unsafe-inline'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
    }


PAGES = [
    ("GET", "/", 200),
    ("GET", "/metrics", 200),
    ("GET", "/-/healthy", 200),
    ("GET", "/-/ready", 200),
    ("POST", "/-/reload", 200),
    ("GET", "/-/reload", 405),
    ("GET", "/no/such/page", 404),
    ("GET", "/metrics/", 404),
]


@in_module_loop
@pytest.mark.parametrize("credentials", ["right", "none", "wrong"])
@pytest.mark.parametrize(("method", "path", "status"), PAGES)
async def test_every_page_carries_the_hardening_headers(
    running: Running, method: str, path: str, status: int, credentials: str
) -> None:
    headers = {
        "right": authorization(USER, PASSWORD),
        "none": {},
        "wrong": authorization(USER, PASSWORD + "x"),
    }[credentials]
    if credentials != "right" and path not in ("/-/healthy", "/-/ready"):
        status = 401
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, running.exporter + path, headers=headers) as response,
    ):
        body = await response.text()
        assert response.status == status, body
        assert response.headers.getall("X-Content-Type-Options") == ["nosniff"]
        assert response.headers.getall("X-Frame-Options") == ["DENY"]  # from the web config
        if status == 401:
            assert response.headers["WWW-Authenticate"] == (
                'Basic realm="balance-exporter", charset="UTF-8"'
            )
            assert body == "Unauthorized\n"
        if path == "/" and status == 200:
            assert response.headers.getall("Content-Security-Policy") == [LANDING_CSP]
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert PASSWORD not in body
