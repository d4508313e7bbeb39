"""What every registered provider must do alike, tested once over the registry.

Each provider's API comes from its case table (tests/providers/test_<module>.py, ``APIS``): its
config keys, its request, a success body with a chosen figure and an error body with a chosen
text. The request and its headers, base_url, status classification, redirects, rate-limit waits,
garbage amounts and bodies, and secrets never echoed: a new provider gets all of it for free.
"""

from __future__ import annotations

from email.utils import formatdate
from typing import Any

import aiohttp
import pytest
from provider_kit import (
    NOW,
    USER_AGENT,
    Api,
    assert_no_secret,
    every_api,
    fail,
    mock_answer,
    only_request,
    provider_for,
    read,
)

from balance_exporter.polling.errors import Reason
from balance_exporter.providers.base import Provider

APIS = every_api()
CASE_IDS = list(APIS)


def case(case_id: str, base_url: str | None = None) -> tuple[Provider[Any], Api]:
    provider, _, api = APIS[case_id]
    return provider_for(provider, api, base_url=base_url), api


@pytest.mark.parametrize("case_id", CASE_IDS)
async def test_request_url_and_headers(
    case_id: str, http: Any, session: aiohttp.ClientSession
) -> None:
    provider, api = case(case_id)
    mock_answer(http, api.url, api.success("1.00"))

    await read(provider, session)

    assert only_request(http) == (api.url, {"User-Agent": USER_AGENT, **api.headers})


@pytest.mark.parametrize("case_id", CASE_IDS)
@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8099/mock", "http://127.0.0.1:8099/mock/"])
async def test_base_url_overrides_the_host(
    case_id: str, base_url: str, http: Any, session: aiohttp.ClientSession
) -> None:
    provider, api = case(case_id, base_url)
    expected = "http://127.0.0.1:8099/mock" + api.path
    mock_answer(http, expected, api.success("2.50"))

    reading = await read(provider, session)

    assert reading.balance is not None
    assert only_request(http) == (expected, {"User-Agent": USER_AGENT, **api.headers})


@pytest.mark.parametrize("case_id", CASE_IDS)
@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (400, Reason.CLIENT_ERROR),
        (401, Reason.AUTH),
        (403, Reason.AUTH),
        (404, Reason.CLIENT_ERROR),
        (409, Reason.CLIENT_ERROR),
        (422, Reason.CLIENT_ERROR),
        (429, Reason.RATE_LIMITED),
        (500, Reason.SERVER_ERROR),
        (502, Reason.SERVER_ERROR),
        (503, Reason.SERVER_ERROR),
        (504, Reason.SERVER_ERROR),
    ],
)
async def test_error_status_is_classified(
    case_id: str, status: int, reason: Reason, http: Any, session: aiohttp.ClientSession
) -> None:
    provider, api = case(case_id)
    mock_answer(http, api.url, api.error("something went wrong"), status=status)

    failure = await fail(provider, session)

    assert failure.reason is reason
    assert failure.status == status
    assert failure.message.startswith(f"HTTP {status}")
    assert failure.message.endswith(": something went wrong")
    assert failure.retry_after is None


@pytest.mark.parametrize("case_id", CASE_IDS)
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirect_is_not_followed_and_is_a_client_error(
    case_id: str, status: int, http: Any, session: aiohttp.ClientSession
) -> None:
    provider, api = case(case_id)
    mock_answer(http, api.url, status=status, headers={"Location": "http://127.0.0.1:9/elsewhere"})
    mock_answer(http, "http://127.0.0.1:9/elsewhere", api.success("1"))

    failure = await fail(provider, session)

    assert failure.reason is Reason.CLIENT_ERROR
    assert failure.message == f"HTTP {status}"
    assert only_request(http)[0] == api.url


@pytest.mark.parametrize("case_id", CASE_IDS)
@pytest.mark.parametrize("body", ["", "<html>busy</html>", "Too Many Requests"])
async def test_rate_limit_without_json_body(
    case_id: str, body: str, http: Any, session: aiohttp.ClientSession
) -> None:
    provider, api = case(case_id)
    mock_answer(http, api.url, body, status=429, content_type="text/html")

    failure = await fail(provider, session)

    assert failure.reason is Reason.RATE_LIMITED
    assert failure.message == "HTTP 429"
    assert failure.code is None


@pytest.mark.parametrize("case_id", CASE_IDS)
@pytest.mark.parametrize(
    "value",
    [
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "1,000.00",
        "1 000",
        "1e5",
        "0x10",
        "",
        "abc",
        True,
        False,
        float("nan"),  # bare NaN, Infinity and -Infinity in the JSON text
        float("inf"),
        float("-inf"),
        [1],
        {"amount": 1},
    ],
    ids=repr,
)
async def test_balance_that_is_not_a_plain_number_is_invalid(
    case_id: str, value: object, http: Any, session: aiohttp.ClientSession
) -> None:
    provider, api = case(case_id)
    mock_answer(http, api.url, api.success(value))

    failure = await fail(provider, session)

    assert failure.reason is Reason.INVALID_RESPONSE
    assert failure.status is None


@pytest.mark.parametrize("case_id", CASE_IDS)
@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b'{"balance": ',
        b"<html><body>Bad gateway</body></html>",
        b"\xff\xfe{}",
        b"[]",
        b'"balance"',
        b"null",
        b"42",
        b"true",
        b'{"a": 1} trailing',
        b'{"result": ["unexpected"]}',
    ],
)
async def test_answer_that_is_not_a_json_object_is_invalid(
    case_id: str, body: bytes, http: Any, session: aiohttp.ClientSession
) -> None:
    provider, api = case(case_id)
    mock_answer(http, api.url, body)

    failure = await fail(provider, session)

    assert failure.reason is Reason.INVALID_RESPONSE


@pytest.mark.parametrize("case_id", CASE_IDS)
@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "120"}, 120.0),
        ({"Retry-After": formatdate(NOW + 240, usegmt=True)}, 240.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"x-ratelimit-reset": "30"}, 30.0),
        ({"x-ratelimit-reset": str(int(NOW * 1000) + 90_000)}, 90.0),  # epoch milliseconds
        ({"Retry-After": "5", "x-ratelimit-reset": "45"}, 45.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
async def test_rate_limit_wait_is_reported(
    case_id: str,
    headers: dict[str, str],
    expected: float | None,
    http: Any,
    session: aiohttp.ClientSession,
) -> None:
    provider, api = case(case_id)
    mock_answer(http, api.url, api.error("slow down"), status=429, headers=headers)

    failure = await fail(provider, session)

    assert failure.reason is Reason.RATE_LIMITED
    assert failure.retry_after == expected


# --- secret hygiene --------------------------------------------------------------------------


def echoed(provider: Provider[Any]) -> str:
    """Every secret of the account, as a careless provider would echo them back."""
    return " and ".join(secret.reveal() for secret in provider.account.secrets.values())


FAILURE_KINDS = {
    "auth": (401, Reason.AUTH),
    "rate_limited": (429, Reason.RATE_LIMITED),
    "server_error": (500, Reason.SERVER_ERROR),
    "client_error": (400, Reason.CLIENT_ERROR),
}


@pytest.mark.parametrize("case_id", CASE_IDS)
@pytest.mark.parametrize("kind", list(FAILURE_KINDS))
@pytest.mark.parametrize("padding", [0, 100, 170])
async def test_secret_echoed_in_error_body_never_shows(
    case_id: str, kind: str, padding: int, http: Any, session: aiohttp.ClientSession
) -> None:
    # The padding puts the echo where a shortened message would cut the key in two.
    provider, api = case(case_id)
    status, reason = FAILURE_KINDS[kind]
    text = "x" * padding + f"bad key {echoed(provider)}"
    mock_answer(http, api.url, api.error(text), status=status)

    failure = await fail(provider, session)

    assert failure.reason is reason
    assert_no_secret(failure, provider)


@pytest.mark.parametrize("case_id", CASE_IDS)
async def test_secret_echoed_as_the_balance_never_shows(
    case_id: str, http: Any, session: aiohttp.ClientSession
) -> None:
    provider, api = case(case_id)
    mock_answer(http, api.url, api.success(echoed(provider)))

    failure = await fail(provider, session)

    assert failure.reason is Reason.INVALID_RESPONSE
    assert_no_secret(failure, provider)


@pytest.mark.parametrize("case_id", CASE_IDS)
async def test_secret_never_shows_on_timeout(
    case_id: str, http: Any, session: aiohttp.ClientSession
) -> None:
    provider, api = case(case_id)
    http.get(api.url, exception=TimeoutError())

    failure = await fail(provider, session)

    assert failure.reason is Reason.TIMEOUT
    assert failure.message == "no complete answer within 15s"
    assert_no_secret(failure, provider)


@pytest.mark.parametrize("case_id", CASE_IDS)
async def test_secret_in_a_network_error_never_shows(
    case_id: str, http: Any, session: aiohttp.ClientSession
) -> None:
    provider, api = case(case_id)
    http.get(api.url, exception=aiohttp.ClientConnectionError(f"proxy said {echoed(provider)}"))

    failure = await fail(provider, session)

    assert failure.reason is Reason.NETWORK
    assert failure.message.startswith("ClientConnectionError: proxy said ")
    assert_no_secret(failure, provider)


@pytest.mark.parametrize("case_id", CASE_IDS)
async def test_secret_never_shows_on_malformed_json(
    case_id: str, http: Any, session: aiohttp.ClientSession
) -> None:
    provider, api = case(case_id)
    mock_answer(http, api.url, f'{{"echo": "{echoed(provider)}", oops')

    failure = await fail(provider, session)

    assert failure.reason is Reason.INVALID_RESPONSE
    assert_no_secret(failure, provider)
