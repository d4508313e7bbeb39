"""The shape of a provider's case table (tests/providers/test_<module>.py) and its runners.

A case table declares, as data:

- ``PROVIDER``: the registered name;
- ``APIS``: one ``Api`` per variant of the adapter ("" for a provider with one API) — what the
  registry-wide contract tests (test_provider_contract.py, test_simulator.py, the fault matrix,
  the hygiene probes) need to build an account, recognise its request and shape its answers;
- ``ANSWERS``: every documented answer and what the adapter must make of it (``check_answer``,
  HTTP mocked with aioresponses);
- ``SIM_ANSWERS``: what the simulator must answer, state by state (``check_sim_answer``).

Bodies are Python data sent as ``json.dumps``; a ``str`` or ``bytes`` body is sent as it is.
Secrets are canaries that must never show in a failure.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from conftest import MockResponse
from multidict import CIMultiDict

from balance_exporter import __version__
from balance_exporter.config.account import AccountConfig
from balance_exporter.config.checker import ConfigError, parse_config
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import PollError, Reason
from balance_exporter.polling.poll import poll
from balance_exporter.providers.base import Provider, adapter
from balance_exporter.providers.registry import BUILT_IN
from balance_exporter.simulator import SimAccount, Simulator

NOW = 1_770_000_000.0  # the wall clock handed to poll, for HTTP-date Retry-After
WALL = 1_771_000_000.0  # the simulator's wall clock for the HTTP dates it writes
USER_AGENT = f"balance-exporter/{__version__}"
CASE_TABLES = Path(__file__).parent / "providers"

# Canary secrets: long like real keys, so that a shortened echo would still be caught.
API_KEY = "KEY0canary" + "9f8e7d6c5b4a3210" * 3
AUTH_TOKEN = "tok0canary" + "0a1b2c3d4e5f6789" * 2
KEY_SECRET = "sks0canary" + "a1b2c3d4e5f60789" * 2
CANARIES = (API_KEY, AUTH_TOKEN, KEY_SECRET)
NO_WAIT = -1.0  # Failure.retry_after for "no wait was asked for" (None leaves it unchecked)


@dataclass(frozen=True)
class Api:
    """One API of a provider, as every registry-wide suite uses it."""

    config: Mapping[str, str]  # the account's keys after name and provider; secrets canaries
    url: str  # the balance request, default host
    headers: Mapping[str, str]  # what the request must carry besides User-Agent
    success: Callable[[Any], Any]  # a success body whose main money figure is ``value``
    error: Callable[[str], Any]  # an error body carrying ``text``, with no code that decides
    sim_account: SimAccount  # a healthy simulated account of this API
    sim_request: tuple[str, Mapping[str, str]]  # the documented request for it: path, headers

    @property
    def path(self) -> str:
        parts = self.url.split("/", 3)
        return "/" + parts[3] if len(parts) > 3 else "/"


@dataclass(frozen=True)
class Failure:
    """What a failed poll must say; ``None`` fields are not checked."""

    reason: Reason
    message: str | None = None  # the whole message
    code: str | None = None
    retry_after: float | None = None  # NO_WAIT: the provider asked for no wait
    contains: tuple[str, ...] = ()  # pieces the message must hold
    status: int | None = None


@dataclass(frozen=True)
class Answer:
    """One answer of the provider's API and what the adapter must make of it."""

    id: str
    body: Any = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    api: str = ""
    config: Mapping[str, str] = field(default_factory=dict)  # keys added to the API's own
    reading: Reading | None = None
    failure: Failure | None = None
    content_type: str = "application/json"


@dataclass(frozen=True)
class SimAnswer:
    """What the simulator answers an account of the provider, in a state or with a fault."""

    id: str
    account: SimAccount
    status: int
    body: Any  # parsed JSON, or the text for a str
    headers: Mapping[str, str] = field(default_factory=dict)  # present, with these values
    absent: tuple[str, ...] = ()  # headers that must not be there
    request: tuple[str, Mapping[str, str]] | None = None  # default: the API's sim_request
    served: bool = False  # whether the answer counts as a trustworthy balance given


def ids(cases: Sequence[Answer] | Sequence[SimAnswer]) -> list[str]:
    names = [case.id for case in cases]
    assert len(names) == len(set(names)), "case ids must be unique"
    return names


# --- the case tables, found through the registry ----------------------------------------------


def module_of(provider: str) -> str:
    """The module name an adapter, its simulator and its case table share (telecom23)."""
    return BUILT_IN[provider].__module__.rsplit(".", 1)[-1]


def case_table(provider: str) -> ModuleType | None:
    """tests/providers/test_<module>.py of a registered provider; None when it has none (the
    registry test names it)."""
    module = f"test_{module_of(provider)}"
    if not (CASE_TABLES / f"{module}.py").exists():
        return None
    return importlib.import_module(module)


def every_api() -> dict[str, tuple[str, str, Api]]:
    """Each registered provider's every API, by case id ("telnyx", "clickatell-platform")."""
    found: dict[str, tuple[str, str, Api]] = {}
    for name in BUILT_IN:
        table = case_table(name)
        apis: Mapping[str, Api] = getattr(table, "APIS", {})
        for variant, api in apis.items():
            found[f"{name}-{variant}" if variant else name] = (name, variant, api)
    return found


# --- building accounts and polling ------------------------------------------------------------


def config_text(provider: str, api: Api, /, *, name: str, **more: str) -> str:
    """A config of one account of the API, its keys and ``more`` (which replace them)."""
    keys = {"name": name, "provider": provider, **api.config, **more}
    return "accounts:\n  - " + "\n    ".join(f"{k}: {json.dumps(v)}" for k, v in keys.items())


def account_for(
    provider: str, api: Api, /, *, base_url: str | None = None, **more: str
) -> AccountConfig:
    """An account built by the config checker from the API's keys (and ``more``)."""
    if base_url is not None:
        more["base_url"] = base_url
    text = config_text(provider, api, name=f"{provider}-main", **more)
    return parse_config(text, "<case>", environ={}).accounts[0]


def config_problems(provider: str, api: Api, /, **more: str) -> list[str]:
    """The problems the config checker finds in account 'x' of the API with ``more``."""
    with pytest.raises(ConfigError) as caught:
        parse_config(config_text(provider, api, name="x", **more), "<case>", environ={})
    return caught.value.problems


def provider_for(
    provider: str, api: Api, /, *, base_url: str | None = None, **more: str
) -> Provider[Any]:
    return adapter(account_for(provider, api, base_url=base_url, **more), BUILT_IN)


def encoded(body: Any) -> str | bytes:
    if body is None:
        return ""
    if isinstance(body, str | bytes):
        return body
    return json.dumps(body)


def mock_answer(
    http: Any,
    url: str,
    body: Any = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    content_type: str = "application/json",
) -> None:
    http.get(
        url,
        status=status,
        body=encoded(body),
        headers=dict(headers or {}),
        content_type=content_type,
        response_class=MockResponse,
    )


def only_request(http: Any) -> tuple[str, dict[str, str]]:
    """The URL and headers of the one request sent."""
    calls = [(key, call) for key, calls in http.requests.items() for call in calls]
    assert len(calls) == 1
    (method, url), call = calls[0]
    assert method == "GET"
    assert call.kwargs["allow_redirects"] is False
    return str(url), dict(call.kwargs["headers"])


async def read(provider: Provider[Any], session: aiohttp.ClientSession) -> Reading:
    return await poll(provider, session, NOW)


async def fail(provider: Provider[Any], session: aiohttp.ClientSession) -> PollError:
    with pytest.raises(PollError) as caught:
        await poll(provider, session, NOW)
    return caught.value


def assert_no_secret(failure: PollError, provider: Provider[Any]) -> None:
    """No secret of the account, whole, in another case, or as a 12-character piece."""
    for text in (failure.message, str(failure), repr(failure), failure.code or ""):
        folded = text.lower()
        for secret in provider.account.secrets.values():
            value = secret.reveal().lower()
            for start in range(len(value) - 11):
                assert value[start : start + 12] not in folded, text


def assert_failure(failure: PollError, expected: Failure) -> None:
    assert failure.reason is expected.reason, failure.message
    if expected.message is not None:
        assert failure.message == expected.message
    for piece in expected.contains:
        assert piece in failure.message
    if expected.code is not None:
        assert failure.code == expected.code
    if expected.retry_after == NO_WAIT:
        assert failure.retry_after is None
    elif expected.retry_after is not None:
        assert failure.retry_after == expected.retry_after
    if expected.status is not None:
        assert failure.status == expected.status


async def check_answer(
    provider: str,
    apis: Mapping[str, Api],
    answer: Answer,
    http: Any,
    session: aiohttp.ClientSession,
) -> None:
    """Serve ``answer`` to the adapter and compare what it makes of it."""
    assert (answer.reading is None) != (answer.failure is None), "a reading or a failure"
    api = apis[answer.api]
    adapter_ = provider_for(provider, api, **answer.config)
    url = adapter_.request().url
    mock_answer(
        http,
        url,
        answer.body,
        status=answer.status,
        headers=answer.headers,
        content_type=answer.content_type,
    )
    if answer.reading is not None:
        assert await read(adapter_, session) == answer.reading
    else:
        assert answer.failure is not None
        failure = await fail(adapter_, session)
        assert_failure(failure, answer.failure)
        assert_no_secret(failure, adapter_)


def table_tests(
    provider: str,
    apis: Mapping[str, Api],
    answers: Sequence[Answer],
    sim_answers: Sequence[SimAnswer],
) -> tuple[Callable[..., Awaitable[None]], Callable[..., Awaitable[None]]]:
    """The two tests every case table runs: each answer through the adapter, each simulator
    answer through the simulator. A table assigns them to test_answer, test_simulator_answer."""

    @pytest.mark.parametrize("answer", answers, ids=ids(answers))
    async def test_answer(answer: Answer, http: Any, session: aiohttp.ClientSession) -> None:
        await check_answer(provider, apis, answer, http, session)

    @pytest.mark.parametrize("answer", sim_answers, ids=ids(sim_answers))
    async def test_simulator_answer(answer: SimAnswer) -> None:
        await check_sim_answer(apis, answer)

    return test_answer, test_simulator_answer


# --- the simulator ------------------------------------------------------------------------------


class SimClock:
    """A clock that reads whatever the test sets."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def simulator_answer(
    account: SimAccount, request: tuple[str, Mapping[str, str]]
) -> tuple[int, CIMultiDict[str], bytes, SimAccount]:
    """Serve one simulated account and send it ``request``: status, headers, body, account."""
    simulator = Simulator(clock=SimClock(), wall_clock=lambda: WALL)
    simulated = simulator.add("case", replace(account))
    client = TestClient(TestServer(simulator.app()))
    await client.start_server()
    try:
        path, headers = request
        async with client.get(path, headers=dict(headers)) as response:
            return response.status, CIMultiDict(response.headers), await response.read(), simulated
    finally:
        simulator.release.set()
        await client.close()


async def check_sim_answer(apis: Mapping[str, Api], answer: SimAnswer) -> None:
    api = apis[answer.account.variant if answer.account.variant in apis else ""]
    status, headers, body, account = await simulator_answer(
        answer.account, answer.request or api.sim_request
    )
    assert status == answer.status
    if isinstance(answer.body, str):
        assert body.decode() == answer.body
    else:
        assert json.loads(body) == answer.body
    for name, value in answer.headers.items():
        assert headers.get(name) == value, name
    for name in answer.absent:
        assert name not in headers, name
    assert (account.served is not None) is answer.served
