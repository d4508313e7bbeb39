"""Basic auth from the web config: challenges, probes left open, bcrypt off the loop, the cache,
and an unknown user costing what a wrong password costs.

The app is served by aiohttp's test server on 127.0.0.1; hashes are made with a low bcrypt
cost except where the cost is the point. Calls to bcrypt are counted by wrapping
``balance_exporter.web.auth._checkpw``, the one place the checker calls it.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import encode_basic_auth, hdrs, test_utils
from fakeclock import wait_until
from support import Client, FakeReload, bcrypt_hash, htpasswd_hash

import balance_exporter.web.auth
from balance_exporter.config.account import AccountConfig
from balance_exporter.config.secret import Secret
from balance_exporter.config.webconfig import WebConfig, load_web_config
from balance_exporter.metrics.snapshot import SnapshotStore
from balance_exporter.web.auth import MAX_WAITING_CHECKS, BasicAuthChecker
from balance_exporter.web.server import RENDERER, WebState, build_app

USER = "prometheus"
PASSWORD = "CANARY-basic-auth-right-7f3a"
WRONG_PASSWORD = "CANARY-basic-auth-wrong-1c9e"
CHALLENGE = 'Basic realm="balance-exporter", charset="UTF-8"'
DEADLINE = 5.0  # seconds a blocked bcrypt call waits for the test to release it
REAL_CHECKPW = balance_exporter.web.auth._checkpw
# The timing comparison: tries of each kind, their bcrypt cost, and how far apart the
# medians may be (a relative check: no absolute time is asserted).
TIMING_TRIES = 20
TIMING_COST = 8
TIMING_RATIO = (0.67, 1.5)


def cost_of(hashed: bytes) -> int:
    return int(hashed.split(b"$")[2])


HASH = bcrypt_hash(PASSWORD)


class CountingCheck:
    """Stands in for balance_exporter.web.auth._checkpw: records the hashes it is asked to check."""

    def __init__(self) -> None:
        self.hashes: list[bytes] = []

    def __call__(self, password: bytes, hashed: bytes) -> bool:
        self.hashes.append(hashed)
        return REAL_CHECKPW(password, hashed)


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> CountingCheck:
    counting = CountingCheck()
    monkeypatch.setattr(balance_exporter.web.auth, "_checkpw", counting)
    return counting


def web_config(users: Mapping[str, str]) -> WebConfig:
    return WebConfig(users={user: Secret(hashed) for user, hashed in users.items()})


@asynccontextmanager
async def serving(
    state: WebState | None = None, reloads: FakeReload | None = None
) -> AsyncIterator[Client]:
    """The app guarded by ``state`` (by default USER with HASH)."""
    web_state = state or WebState(web_config({USER: HASH}))
    app = build_app(SnapshotStore(), reloads or FakeReload(), web_state=web_state, lifecycle=True)
    async with test_utils.TestClient(test_utils.TestServer(app)) as client:
        yield client


def basic(user: str, password: str) -> dict[str, str]:
    return {hdrs.AUTHORIZATION: encode_basic_auth(user, password)}


async def call(client: Client, method: str, path: str, headers: Mapping[str, str]) -> int:
    async with client.request(method, path, headers=headers) as response:
        if response.status == 401:
            assert response.headers["WWW-Authenticate"] == CHALLENGE
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert await response.text() == "Unauthorized\n"
        return response.status


GUARDED = [("GET", "/metrics"), ("GET", "/"), ("POST", "/-/reload")]
REFUSED: dict[str, dict[str, str]] = {
    "no credentials": {},
    "wrong password": basic(USER, WRONG_PASSWORD),
    "unknown user": basic("grafana", PASSWORD),
    "empty password": basic(USER, ""),
    "not base64": {hdrs.AUTHORIZATION: "Basic !!!not-base64!!!"},
    "bearer token": {hdrs.AUTHORIZATION: f"Bearer {PASSWORD}"},
    "password with a trailing space": basic(USER, PASSWORD + " "),
}


@pytest.mark.parametrize("credentials", list(REFUSED))
async def test_refused_credentials_get_401_with_a_challenge(credentials: str) -> None:
    reloads = FakeReload()
    async with serving(reloads=reloads) as client:
        statuses = [
            await call(client, method, path, REFUSED[credentials]) for method, path in GUARDED
        ]
    assert statuses == [401, 401, 401]
    assert reloads.calls == 0


async def test_the_right_password_opens_every_guarded_page() -> None:
    reloads = FakeReload()
    async with serving(reloads=reloads) as client:
        for method, path in GUARDED:
            async with client.request(method, path, headers=basic(USER, PASSWORD)) as response:
                assert response.status == 200, path
                assert response.headers["X-Content-Type-Options"] == "nosniff"
                body = await response.text()
            if path == "/-/reload":
                assert body == "config reloaded\n"
    assert reloads.calls == 1


@pytest.mark.parametrize("path", ["/-/healthy", "/-/ready"])
@pytest.mark.parametrize("credentials", ["no credentials", "wrong password"])
async def test_probes_need_no_password(path: str, credentials: str) -> None:
    async with serving() as client:
        await client.app[RENDERER].settled()  # ready once the first body is rendered
        response = await client.get(path, headers=REFUSED[credentials])
        assert response.status == 200
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert await response.text() == ("Healthy\n" if path == "/-/healthy" else "Ready\n")


async def test_an_unknown_user_and_a_wrong_password_get_the_same_answer() -> None:
    async with serving() as client:
        answers = []
        for credentials in ("wrong password", "unknown user"):
            async with client.get("/metrics", headers=REFUSED[credentials]) as response:
                headers = {k: v for k, v in response.headers.items() if k != hdrs.DATE}
                answers.append((response.status, headers, await response.read()))
    assert answers[0] == answers[1]


async def test_a_hash_made_by_htpasswd_works(tmp_path: Path) -> None:
    hashed = htpasswd_hash(USER, PASSWORD)
    assert hashed.startswith("$2y$10$")
    path = tmp_path / "web.yml"
    path.write_text(f"basic_auth_users:\n  {USER}: '{hashed}'\n", encoding="utf-8")
    async with serving(WebState(load_web_config(path))) as client:
        assert await call(client, "GET", "/metrics", basic(USER, PASSWORD)) == 200
        assert await call(client, "GET", "/metrics", basic(USER, WRONG_PASSWORD)) == 401


async def test_bcrypt_runs_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    entered, release = threading.Event(), threading.Event()
    released_by_the_test: list[bool] = []

    def blocking(password: bytes, hashed: bytes) -> bool:
        entered.set()
        # On the event loop this would wait out the deadline: nothing else could run.
        released_by_the_test.append(release.wait(DEADLINE))
        return REAL_CHECKPW(password, hashed)

    monkeypatch.setattr(balance_exporter.web.auth, "_checkpw", blocking)
    async with serving() as client:
        scrape = asyncio.create_task(call(client, "GET", "/metrics", basic(USER, PASSWORD)))
        assert await asyncio.to_thread(entered.wait, DEADLINE)
        async with client.get("/-/healthy") as healthy:
            assert healthy.status == 200
        assert not scrape.done()
        release.set()
        assert await scrape == 200
    assert released_by_the_test == [True]


async def test_a_successful_check_is_cached(checks: CountingCheck) -> None:
    async with serving() as client:
        assert await call(client, "GET", "/metrics", basic(USER, PASSWORD)) == 200
        assert await call(client, "GET", "/metrics", basic(USER, PASSWORD)) == 200
        assert await call(client, "POST", "/-/reload", basic(USER, PASSWORD)) == 200
        assert len(checks.hashes) == 1
        # The cache holds this user's password only: anything else is checked again.
        assert await call(client, "GET", "/metrics", basic(USER, WRONG_PASSWORD)) == 401
    assert checks.hashes == [HASH.encode(), HASH.encode()]


async def test_a_wrong_password_is_never_cached(checks: CountingCheck) -> None:
    async with serving() as client:
        for _ in range(3):
            assert await call(client, "GET", "/metrics", basic(USER, WRONG_PASSWORD)) == 401
        for _ in range(2):
            assert await call(client, "GET", "/metrics", basic("grafana", PASSWORD)) == 401
    assert len(checks.hashes) == 5


async def test_a_new_hash_on_reload_forgets_the_cached_password(checks: CountingCheck) -> None:
    state = WebState(web_config({USER: HASH}))
    async with serving(state) as client:
        assert await call(client, "GET", "/metrics", basic(USER, PASSWORD)) == 200
        await state.replace(web_config({USER: bcrypt_hash(WRONG_PASSWORD)}))
        assert await call(client, "GET", "/metrics", basic(USER, PASSWORD)) == 401
        assert await call(client, "GET", "/metrics", basic(USER, WRONG_PASSWORD)) == 200
        await state.replace(web_config({}))
        assert await call(client, "GET", "/metrics", {}) == 200
    assert len(checks.hashes) == 3


async def test_an_unknown_user_costs_one_check_of_the_same_cost(checks: CountingCheck) -> None:
    user_hash = bcrypt_hash(PASSWORD, cost=6)
    checker = BasicAuthChecker({USER: Secret(user_hash)})
    assert not await checker.check(encode_basic_auth(USER, WRONG_PASSWORD))
    assert checks.hashes == [user_hash.encode()]
    assert not await checker.check(encode_basic_auth("grafana", PASSWORD))
    assert len(checks.hashes) == 2
    dummy = checks.hashes[1]
    assert dummy != user_hash.encode()
    assert (cost_of(dummy), cost_of(checks.hashes[0])) == (6, 6)
    # The same dummy each time: an unknown user never costs a fresh hash.
    assert not await checker.check(encode_basic_auth("nobody", WRONG_PASSWORD))
    assert checks.hashes[2] == dummy


async def test_an_unknown_user_costs_as_much_as_the_dearest_user(checks: CountingCheck) -> None:
    checker = BasicAuthChecker(
        {"cheap": Secret(bcrypt_hash("a", cost=4)), "dear": Secret(bcrypt_hash("b", cost=7))}
    )
    assert not await checker.check(encode_basic_auth("grafana", PASSWORD))
    assert [cost_of(hashed) for hashed in checks.hashes] == [7]


async def test_an_unknown_user_takes_as_long_as_a_wrong_password() -> None:
    """A benchmark-style comparison of medians, relative to each other (no absolute time)."""
    checker = BasicAuthChecker({USER: Secret(bcrypt_hash(PASSWORD, cost=TIMING_COST))})
    headers = {
        "wrong password": encode_basic_auth(USER, WRONG_PASSWORD),
        "unknown user": encode_basic_auth("grafana", WRONG_PASSWORD),
    }
    durations: dict[str, list[float]] = {kind: [] for kind in headers}
    for _ in range(TIMING_TRIES):
        for kind, header in headers.items():  # interleaved: drift hits both alike
            started = time.perf_counter()
            assert not await checker.check(header)
            durations[kind].append(time.perf_counter() - started)
    ratio = statistics.median(durations["unknown user"]) / statistics.median(
        durations["wrong password"]
    )
    low, high = TIMING_RATIO
    assert low <= ratio <= high, f"unknown user / wrong password medians: {ratio:.2f}"


async def test_a_flood_of_wrong_passwords_never_holds_up_rendering_or_a_cached_login(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()

    def stuck_check(password: bytes, hashed: bytes) -> bool:
        release.wait(DEADLINE)  # a bcrypt check that takes as long as the test wants
        return False

    store = SnapshotStore()
    store.set_accounts([AccountConfig(name="a", provider="telnyx", interval=60.0, timeout=15.0)])
    state = WebState(web_config({USER: HASH}))
    app = build_app(store, FakeReload(), web_state=state)
    try:
        async with test_utils.TestClient(test_utils.TestServer(app)) as client:
            assert await call(client, "GET", "/metrics", basic(USER, PASSWORD)) == 200
            monkeypatch.setattr(balance_exporter.web.auth, "_checkpw", stuck_check)
            flood = [
                asyncio.create_task(call(client, "GET", "/metrics", basic(USER, f"wrong-{i}")))
                for i in range(MAX_WAITING_CHECKS + 8)
            ]
            await wait_until(lambda: sum(task.done() for task in flood) == 8, DEADLINE)
            async with asyncio.timeout(DEADLINE):
                assert state.auth is not None
                assert state.auth.waiting == MAX_WAITING_CHECKS
                # Every check thread is stuck: a cached login is still answered ...
                assert await call(client, "GET", "/metrics", basic(USER, PASSWORD)) == 200
                # ... and a change is still rendered.
                store.set_reload(False, 2.0)
                await client.app[RENDERER].settled()
                text = await (await client.get("/metrics", headers=basic(USER, PASSWORD))).text()
                assert "billing_exporter_config_last_reload_successful 0.0" in text
            release.set()
            statuses = await asyncio.gather(*flood)
    finally:
        release.set()
    # The checks past the bound were refused at once, the others failed as wrong passwords.
    assert sorted(statuses) == [401] * MAX_WAITING_CHECKS + [429] * 8
