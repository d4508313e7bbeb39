"""Every provider answer from the provider docs and the issue, through polling.poll.poll.

HTTP is mocked with aioresponses; the requests sent are checked as well as the readings and
failures returned. Secrets are canaries that must never show in a failure.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from email.utils import formatdate
from typing import Any

import aiohttp
import pytest
from conftest import MockResponse

from balance_exporter import __version__
from balance_exporter.config.account import AccountConfig
from balance_exporter.config.secret import Secret
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import PollError, Reason
from balance_exporter.polling.poll import poll
from balance_exporter.providers.base import Provider
from balance_exporter.providers.clickatell import Clickatell
from balance_exporter.providers.registry import PROVIDERS
from balance_exporter.providers.telecom23 import Telecom23
from balance_exporter.providers.telnyx import Telnyx
from balance_exporter.providers.twilio import SUBACCOUNT_HINT, Twilio
from balance_exporter.providers.youcom import YouCom

NOW = 1_770_000_000.0  # the wall clock handed to poll, for HTTP-date Retry-After
USER_AGENT = f"balance-exporter/{__version__}"

# Canary secrets: long like real keys, so that a shortened echo would still be caught.
API_KEY = "KEY0canary" + "9f8e7d6c5b4a3210" * 3
AUTH_TOKEN = "tok0canary" + "0a1b2c3d4e5f6789" * 2
KEY_SECRET = "sks0canary" + "a1b2c3d4e5f60789" * 2
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
KEY_SID = "SK" + "fedcba9876543210" * 2

TELNYX_URL = "https://api.telnyx.com/v2/balance"
TWILIO_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Balance.json"
CLICKATELL_URL = "https://api.clickatell.com/rest/account/balance"
PLATFORM_URL = "https://platform.clickatell.com/public-client/balance"
YOUCOM_URL = "https://api.you.com/v1/billing/account_balance"
TELECOM23_URL = "https://restlink23telecom.com/api/v1/user/balance"


# --- building accounts -----------------------------------------------------------------------


def account(
    provider: str,
    *,
    settings: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
    base_url: str | None = None,
) -> AccountConfig:
    return AccountConfig(
        name=f"{provider}-main",
        provider=provider,
        interval=300.0,
        timeout=15.0,
        base_url=base_url,
        settings=dict(settings or {}),
        secrets={key: Secret(value) for key, value in (secrets or {}).items()},
    )


def telnyx(base_url: str | None = None) -> Provider:
    return Telnyx(account("telnyx", secrets={"api_key": API_KEY}, base_url=base_url))


def twilio(base_url: str | None = None) -> Provider:
    return Twilio(
        account(
            "twilio",
            settings={"account_sid": ACCOUNT_SID},
            secrets={"auth_token": AUTH_TOKEN},
            base_url=base_url,
        )
    )


def twilio_api_key(base_url: str | None = None) -> Provider:
    return Twilio(
        account(
            "twilio",
            settings={"account_sid": ACCOUNT_SID, "api_key_sid": KEY_SID},
            secrets={"api_key_secret": KEY_SECRET},
            base_url=base_url,
        )
    )


def clickatell(
    base_url: str | None = None, *, api: str | None = None, currency: str | None = None
) -> Provider:
    settings = {"api": api} if api else {}
    if currency:
        settings["currency"] = currency
    return Clickatell(
        account("clickatell", settings=settings, secrets={"api_key": API_KEY}, base_url=base_url)
    )


def platform(base_url: str | None = None, *, currency: str | None = None) -> Provider:
    return clickatell(base_url, api="platform", currency=currency)


def youcom(base_url: str | None = None) -> Provider:
    return YouCom(account("youcom", secrets={"api_key": API_KEY}, base_url=base_url))


def telecom23(base_url: str | None = None) -> Provider:
    return Telecom23(account("23telecom", secrets={"api_key": API_KEY}, base_url=base_url))


# --- mocked HTTP -----------------------------------------------------------------------------


def answer(
    http: Any,
    url: str,
    body: str | bytes = "",
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    content_type: str = "application/json",
) -> None:
    http.get(
        url,
        status=status,
        body=body,
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


async def read(provider: Provider, session: aiohttp.ClientSession) -> Reading:
    return await poll(provider, session, NOW)


async def fail(provider: Provider, session: aiohttp.ClientSession) -> PollError:
    with pytest.raises(PollError) as caught:
        await poll(provider, session, NOW)
    return caught.value


def assert_no_secret(failure: PollError, provider: Provider) -> None:
    """No secret of the account, whole, in another case, or as a 12-character piece."""
    for text in (failure.message, str(failure), repr(failure), failure.code or ""):
        folded = text.lower()
        for secret in provider.account.secrets.values():
            value = secret.reveal().lower()
            for start in range(len(value) - 11):
                assert value[start : start + 12] not in folded, text


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# --- the table of providers, for what every provider must do alike ---------------------------


@dataclass(frozen=True)
class Case:
    make: Callable[..., Provider]
    url: str
    path: str
    headers: Mapping[str, str]
    # A success body with the main money figure replaced by the given JSON text.
    success: Callable[[str], str]
    # The provider's error body shape, carrying the given text and no code that decides.
    error: Callable[[str], str]


CASES: dict[str, Case] = {
    "telnyx": Case(
        telnyx,
        TELNYX_URL,
        "/v2/balance",
        {"User-Agent": USER_AGENT, "Authorization": f"Bearer {API_KEY}"},
        lambda value: f'{{"data": {{"record_type": "balance", "balance": {value}}}}}',
        lambda text: f'{{"errors": [{{"code": "90001", "title": "Error", "detail": "{text}"}}]}}',
    ),
    "twilio": Case(
        twilio,
        TWILIO_URL,
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Balance.json",
        {"User-Agent": USER_AGENT, "Authorization": basic(ACCOUNT_SID, AUTH_TOKEN)},
        lambda value: f'{{"balance": {value}, "currency": "USD"}}',
        lambda text: f'{{"code": 20005, "message": "{text}", "more_info": "", "status": 400}}',
    ),
    "twilio-api-key": Case(
        twilio_api_key,
        TWILIO_URL,
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Balance.json",
        {"User-Agent": USER_AGENT, "Authorization": basic(KEY_SID, KEY_SECRET)},
        lambda value: f'{{"balance": {value}, "currency": "USD"}}',
        lambda text: (
            f'{{"type": "t", "title": "E", "status": 400, "code": 20005, "detail": "{text}"}}'
        ),
    ),
    "clickatell-rest": Case(
        clickatell,
        CLICKATELL_URL,
        "/rest/account/balance",
        {
            "User-Agent": USER_AGENT,
            "X-Version": "1",
            "Accept": "application/json",
            "Authorization": f"Bearer {API_KEY}",
        },
        lambda value: f'{{"data": {{"balance": {value}}}}}',
        lambda text: f'{{"error": {{"code": "101", "description": "{text}"}}}}',
    ),
    "clickatell-platform": Case(
        platform,
        PLATFORM_URL,
        "/public-client/balance",
        {"User-Agent": USER_AGENT, "Authorization": API_KEY},
        lambda value: f'{{"balance": {value}, "currency": "ZAR"}}',
        lambda text: f'{{"errorCode": 101, "error": "{text}", "errorDescription": "{text}"}}',
    ),
    "youcom": Case(
        youcom,
        YOUCOM_URL,
        "/v1/billing/account_balance",
        {"User-Agent": USER_AGENT, "X-API-Key": API_KEY},
        lambda value: (
            f'{{"data": {{"type": "account", "id": "e1", "attributes": {{"balance": {value}}}}}}}'
        ),
        lambda text: f'{{"detail": "{text}"}}',
    ),
    "23telecom": Case(
        telecom23,
        TELECOM23_URL,
        "/api/v1/user/balance",
        {"User-Agent": USER_AGENT, "X-API-Key": API_KEY},
        lambda value: (
            f'{{"balance": {value}, "currency": "EUR", "updated": "2026.02.13 10:15:00"}}'
        ),
        lambda text: f'{{"status": false, "error_code": "SOMETHING", "description": "{text}"}}',
    ),
}
CASE_IDS = list(CASES)


def test_every_registered_provider_is_in_the_table() -> None:
    assert set(PROVIDERS) == {"telnyx", "twilio", "clickatell", "youcom", "23telecom"}
    assert {type(case.make()).name for case in CASES.values()} == set(PROVIDERS)


@pytest.mark.parametrize("case_id", CASE_IDS)
async def test_request_url_and_headers(
    case_id: str, http: Any, session: aiohttp.ClientSession
) -> None:
    case = CASES[case_id]
    answer(http, case.url, case.success('"1.00"'))

    await read(case.make(), session)

    assert only_request(http) == (case.url, dict(case.headers))


@pytest.mark.parametrize("case_id", CASE_IDS)
@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8099/mock", "http://127.0.0.1:8099/mock/"])
async def test_base_url_overrides_the_host(
    case_id: str, base_url: str, http: Any, session: aiohttp.ClientSession
) -> None:
    case = CASES[case_id]
    expected = "http://127.0.0.1:8099/mock" + case.path
    answer(http, expected, case.success('"2.50"'))

    reading = await read(case.make(base_url), session)

    assert reading.balance is not None
    assert only_request(http) == (expected, dict(case.headers))


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
    case = CASES[case_id]
    answer(http, case.url, case.error("something went wrong"), status=status)

    failure = await fail(case.make(), session)

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
    case = CASES[case_id]
    answer(http, case.url, status=status, headers={"Location": "http://127.0.0.1:9/elsewhere"})
    answer(http, "http://127.0.0.1:9/elsewhere", case.success('"1"'))

    failure = await fail(case.make(), session)

    assert failure.reason is Reason.CLIENT_ERROR
    assert failure.message == f"HTTP {status}"
    assert only_request(http)[0] == case.url


@pytest.mark.parametrize("case_id", CASE_IDS)
@pytest.mark.parametrize("body", ["", "<html>busy</html>", "Too Many Requests"])
async def test_rate_limit_without_json_body(
    case_id: str, body: str, http: Any, session: aiohttp.ClientSession
) -> None:
    case = CASES[case_id]
    answer(http, case.url, body, status=429, content_type="text/html")

    failure = await fail(case.make(), session)

    assert failure.reason is Reason.RATE_LIMITED
    assert failure.message == "HTTP 429"
    assert failure.code is None


@pytest.mark.parametrize("case_id", CASE_IDS)
@pytest.mark.parametrize(
    "value",
    [
        '"NaN"',
        '"nan"',
        '"Infinity"',
        '"-Infinity"',
        '"1,000.00"',
        '"1 000"',
        '"1e5"',
        '"0x10"',
        '""',
        '"abc"',
        "true",
        "false",
        "NaN",
        "Infinity",
        "-Infinity",
        "[1]",
        '{"amount": 1}',
    ],
)
async def test_balance_that_is_not_a_plain_number_is_invalid(
    case_id: str, value: str, http: Any, session: aiohttp.ClientSession
) -> None:
    case = CASES[case_id]
    answer(http, case.url, case.success(value))

    failure = await fail(case.make(), session)

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
    ],
)
async def test_answer_that_is_not_a_json_object_is_invalid(
    case_id: str, body: bytes, http: Any, session: aiohttp.ClientSession
) -> None:
    case = CASES[case_id]
    answer(http, case.url, body)

    failure = await fail(case.make(), session)

    assert failure.reason is Reason.INVALID_RESPONSE


@pytest.mark.parametrize(
    ("case_id", "body"),
    [
        ("telnyx", '{"data": {"record_type": "balance", "currency": "USD"}}'),
        ("telnyx", '{"data": {"balance": null, "pending": null}}'),
        ("telnyx", '{"data": []}'),
        ("telnyx", '{"data": "300.00"}'),
        ("telnyx", '{"balance": "300.00"}'),
        ("telnyx", '{"data": {"balance": "1", "currency": 840}}'),
        ("telnyx", '{"data": {"balance": "1", "currency": "US$"}}'),
        ("twilio", '{"balance": 12, "currency": "USD", "account_sid": 7}'),
        ("twilio", '{"balance": "1.00", "currency": ""}'),
        ("twilio", '{"balance": "1.00 USD", "currency": "USD"}'),
        ("clickatell-rest", '{"data": []}'),
        ("clickatell-rest", '{"balance": "300.50"}'),
        ("clickatell-rest", '{"data": {"balance": null}}'),
        ("clickatell-platform", '{"balance": null, "currency": "ZAR"}'),
        ("clickatell-platform", '{"balance": 1, "currency": 710}'),
        ("youcom", '{"data": {"id": "e", "attributes": {}}}'),
        ("youcom", '{"data": {"id": "e"}}'),
        ("youcom", '{"data": {"id": "e", "attributes": []}}'),
        ("youcom", '{"data": {"id": 5, "attributes": {"balance": 1}}}'),
        ("youcom", '{"attributes": {"balance": 1}}'),
        ("23telecom", '{"balance": 1, "currency": "EUR", "updated": "2026-02-13T10:15:00Z"}'),
        ("23telecom", '{"balance": 1, "currency": "EUR", "updated": "2026.02.30 10:15:00"}'),
        ("23telecom", '{"balance": 1, "currency": "EUR", "updated": 1770977700}'),
        ("23telecom", '{"balance": 1, "currency": "EUR", "credit_blocked": "yes"}'),
        ("23telecom", '{"balance": 1, "currency": "EUR", "credit_blocked": 1}'),
        ("23telecom", '{"currency": "EUR"}'),
    ],
)
async def test_wrong_shape_is_invalid(
    case_id: str, body: str, http: Any, session: aiohttp.ClientSession
) -> None:
    case = CASES[case_id]
    answer(http, case.url, body)

    failure = await fail(case.make(), session)

    assert failure.reason is Reason.INVALID_RESPONSE


@pytest.mark.parametrize("case_id", CASE_IDS)
@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "120"}, 120.0),
        ({"Retry-After": formatdate(NOW + 240, usegmt=True)}, 240.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"x-ratelimit-reset": "30"}, 30.0),
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
    case = CASES[case_id]
    answer(http, case.url, case.error("slow down"), status=429, headers=headers)

    failure = await fail(case.make(), session)

    assert failure.reason is Reason.RATE_LIMITED
    assert failure.retry_after == expected


# --- secret hygiene --------------------------------------------------------------------------


def echoed(provider: Provider) -> str:
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
    case = CASES[case_id]
    provider = case.make()
    status, reason = FAILURE_KINDS[kind]
    answer(http, case.url, case.error("x" * padding + f"bad key {echoed(provider)}"), status=status)

    failure = await fail(provider, session)

    assert failure.reason is reason
    assert_no_secret(failure, provider)


@pytest.mark.parametrize("case_id", CASE_IDS)
async def test_secret_echoed_as_the_balance_never_shows(
    case_id: str, http: Any, session: aiohttp.ClientSession
) -> None:
    case = CASES[case_id]
    provider = case.make()
    answer(http, case.url, case.success(f'"{echoed(provider)}"'))

    failure = await fail(provider, session)

    assert failure.reason is Reason.INVALID_RESPONSE
    assert_no_secret(failure, provider)


@pytest.mark.parametrize(
    ("case_id", "body"),
    [
        ("telnyx", '{{"data": {{"balance": "1", "currency": "{}"}}}}'),
        ("twilio", '{{"balance": "1", "currency": "{}"}}'),
        ("twilio-api-key", '{{"balance": "1", "currency": "USD", "account_sid": ["{}"]}}'),
        ("clickatell-platform", '{{"balance": 1, "currency": "{}"}}'),
        ("youcom", '{{"data": {{"id": {{"k": "{}"}}, "attributes": {{"balance": 1}}}}}}'),
        ("23telecom", '{{"balance": 1, "currency": "EUR", "updated": "{}"}}'),
    ],
)
async def test_secret_echoed_in_other_fields_never_shows(
    case_id: str, body: str, http: Any, session: aiohttp.ClientSession
) -> None:
    case = CASES[case_id]
    provider = case.make()
    answer(http, case.url, body.format(echoed(provider)))

    failure = await fail(provider, session)

    assert failure.reason is Reason.INVALID_RESPONSE
    assert_no_secret(failure, provider)


@pytest.mark.parametrize(
    ("case_id", "body"),
    [
        ("telnyx", '{{"errors": [{{"code": "{}", "title": "Error"}}]}}'),
        ("twilio", '{{"code": "{}", "message": "Error", "status": 401}}'),
        ("clickatell-rest", '{{"error": {{"code": "{}", "description": "Error"}}}}'),
        ("clickatell-platform", '{{"errorCode": "{}", "error": "Error"}}'),
        ("23telecom", '{{"status": false, "error_code": "{}", "description": "Error"}}'),
    ],
)
async def test_secret_echoed_as_the_error_code_never_shows(
    case_id: str, body: str, http: Any, session: aiohttp.ClientSession
) -> None:
    case = CASES[case_id]
    provider = case.make()
    answer(http, case.url, body.format(echoed(provider)), status=401)

    failure = await fail(provider, session)

    assert failure.reason is Reason.AUTH
    assert failure.code is not None
    assert_no_secret(failure, provider)


@pytest.mark.parametrize("case_id", CASE_IDS)
async def test_secret_never_shows_on_timeout(
    case_id: str, http: Any, session: aiohttp.ClientSession
) -> None:
    case = CASES[case_id]
    provider = case.make()
    http.get(case.url, exception=TimeoutError())

    failure = await fail(provider, session)

    assert failure.reason is Reason.TIMEOUT
    assert failure.message == "no complete answer within 15s"
    assert_no_secret(failure, provider)


@pytest.mark.parametrize("case_id", CASE_IDS)
async def test_secret_in_a_network_error_never_shows(
    case_id: str, http: Any, session: aiohttp.ClientSession
) -> None:
    case = CASES[case_id]
    provider = case.make()
    http.get(case.url, exception=aiohttp.ClientConnectionError(f"proxy said {echoed(provider)}"))

    failure = await fail(provider, session)

    assert failure.reason is Reason.NETWORK
    assert failure.message.startswith("ClientConnectionError: proxy said ")
    assert_no_secret(failure, provider)


@pytest.mark.parametrize("case_id", CASE_IDS)
async def test_secret_never_shows_on_malformed_json(
    case_id: str, http: Any, session: aiohttp.ClientSession
) -> None:
    case = CASES[case_id]
    provider = case.make()
    answer(http, case.url, f'{{"echo": "{echoed(provider)}", oops')

    failure = await fail(provider, session)

    assert failure.reason is Reason.INVALID_RESPONSE
    assert_no_secret(failure, provider)


# --- Telnyx ----------------------------------------------------------------------------------


async def test_telnyx_success_with_every_figure(http: Any, session: aiohttp.ClientSession) -> None:
    answer(
        http,
        TELNYX_URL,
        '{"data": {"record_type": "balance", "pending": "10.00", "balance": "300.00",'
        ' "credit_limit": "100.00", "available_credit": "400.00", "currency": "USD"}}',
    )

    reading = await read(telnyx(), session)

    assert reading == Reading(
        currency="USD",
        balance=Decimal("300.00"),
        credit_limit=Decimal("100.00"),
        pending=Decimal("10.00"),
        available_credit=Decimal("400.00"),
    )
    assert str(reading.balance) == "300.00"
    assert reading.trusted is True
    assert reading.provider_account_id is None


async def test_telnyx_negative_balance_and_missing_figures(
    http: Any, session: aiohttp.ClientSession
) -> None:
    answer(http, TELNYX_URL, '{"data": {"balance": "-12.34", "currency": "EUR"}}')

    reading = await read(telnyx(), session)

    assert reading == Reading(currency="EUR", balance=Decimal("-12.34"))


async def test_telnyx_figures_as_json_numbers_are_exact(
    http: Any, session: aiohttp.ClientSession
) -> None:
    answer(http, TELNYX_URL, '{"data": {"balance": 0.1, "available_credit": 100000000000000.01}}')

    reading = await read(telnyx(), session)

    assert reading == Reading(
        balance=Decimal("0.1"), available_credit=Decimal("100000000000000.01")
    )


async def test_telnyx_available_credit_alone_is_enough(
    http: Any, session: aiohttp.ClientSession
) -> None:
    answer(http, TELNYX_URL, '{"data": {"available_credit": "5.5", "currency": "usd"}}')

    reading = await read(telnyx(), session)

    assert reading == Reading(currency="USD", available_credit=Decimal("5.5"))


@pytest.mark.parametrize(
    ("status", "code", "title", "detail", "reason"),
    [
        (401, "10009", "Authentication failed", "The API key is invalid.", Reason.AUTH),
        (403, "10010", "Authorization failed", "No permission for billing.", Reason.AUTH),
        (422, "10015", "Invalid account", "Account information is missing.", Reason.CLIENT_ERROR),
        (503, "10011", "Service unavailable", "Try again later.", Reason.SERVER_ERROR),
        (429, "10011", "Too many requests", "Rate limit exceeded.", Reason.RATE_LIMITED),
        (400, "10009", "Authentication failed", "Bad key.", Reason.AUTH),
    ],
)
async def test_telnyx_errors(
    status: int,
    code: str,
    title: str,
    detail: str,
    reason: Reason,
    http: Any,
    session: aiohttp.ClientSession,
) -> None:
    body = f'{{"errors": [{{"code": "{code}", "title": "{title}", "detail": "{detail}"}}]}}'
    answer(http, TELNYX_URL, body, status=status)

    failure = await fail(telnyx(), session)

    assert failure.reason is reason
    assert failure.status == status
    assert failure.code == code
    assert failure.message == f"HTTP {status}, telnyx code {code}: {detail}"


async def test_telnyx_error_without_detail_uses_the_title(
    http: Any, session: aiohttp.ClientSession
) -> None:
    answer(http, TELNYX_URL, '{"errors": [{"code": "10009", "title": "Auth failed"}]}', status=401)

    failure = await fail(telnyx(), session)

    assert failure.message == "HTTP 401, telnyx code 10009: Auth failed"


async def test_telnyx_429_reports_the_reset(http: Any, session: aiohttp.ClientSession) -> None:
    answer(
        http,
        TELNYX_URL,
        '{"errors": [{"code": "10011", "title": "Too many requests"}]}',
        status=429,
        headers={"x-ratelimit-reset": "37"},
    )

    failure = await fail(telnyx(), session)

    assert failure.reason is Reason.RATE_LIMITED
    assert failure.retry_after == 37.0


@pytest.mark.parametrize("body", ['{"errors": []}', '{"errors": "bad"}', '{"errors": [1]}', "{}"])
async def test_telnyx_error_bodies_without_an_error_fall_back_to_the_status(
    body: str, http: Any, session: aiohttp.ClientSession
) -> None:
    answer(http, TELNYX_URL, body, status=403)

    failure = await fail(telnyx(), session)

    assert failure.reason is Reason.AUTH
    assert failure.message == "HTTP 403"
    assert failure.code is None


# --- Twilio ----------------------------------------------------------------------------------


async def test_twilio_success(http: Any, session: aiohttp.ClientSession) -> None:
    answer(
        http,
        TWILIO_URL,
        f'{{"balance": "0.05", "currency": "USD", "account_sid": "{ACCOUNT_SID}"}}',
    )

    reading = await read(twilio(), session)

    assert reading == Reading(
        currency="USD", balance=Decimal("0.05"), provider_account_id=ACCOUNT_SID
    )


async def test_twilio_with_api_key_uses_the_account_sid_in_the_path(
    http: Any, session: aiohttp.ClientSession
) -> None:
    answer(http, TWILIO_URL, '{"balance": "-3.75", "currency": "GBP"}')

    reading = await read(twilio_api_key(), session)

    assert reading == Reading(currency="GBP", balance=Decimal("-3.75"))
    url, headers = only_request(http)
    assert url == TWILIO_URL
    assert headers["Authorization"] == basic(KEY_SID, KEY_SECRET)


@pytest.mark.parametrize(
    ("status", "body", "reason", "message"),
    [
        (
            401,
            '{"code": 20003, "message": "Authenticate",'
            ' "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}',
            Reason.AUTH,
            "HTTP 401, twilio code 20003: Authenticate",
        ),
        (
            401,
            '{"type": "https://www.twilio.com/docs/errors/20003", "title": "Authentication Error",'
            ' "status": 401, "code": 20003,'
            ' "detail": "Your AccountSid or AuthToken was incorrect."}',
            Reason.AUTH,
            "HTTP 401, twilio code 20003: Your AccountSid or AuthToken was incorrect.",
        ),
        (
            400,
            '{"type": "https://www.twilio.com/docs/errors/20003", "title": "Authentication Error",'
            ' "status": 400, "code": 20003}',
            Reason.AUTH,
            "HTTP 400, twilio code 20003: Authentication Error",
        ),
        (
            429,
            '{"code": 20429, "message": "Too Many Requests",'
            ' "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429}',
            Reason.RATE_LIMITED,
            "HTTP 429, twilio code 20429: Too Many Requests",
        ),
        (
            500,
            '{"code": 20500, "message": "Internal Server Error",'
            ' "more_info": "https://www.twilio.com/docs/errors/20500", "status": 500}',
            Reason.SERVER_ERROR,
            "HTTP 500, twilio code 20500: Internal Server Error",
        ),
        (
            503,
            '{"type": "https://www.twilio.com/docs/errors/20503", "title": "Service Unavailable",'
            ' "status": 503, "code": 20503, "detail": "Try again later."}',
            Reason.SERVER_ERROR,
            "HTTP 503, twilio code 20503: Try again later.",
        ),
        (404, "", Reason.CLIENT_ERROR, "HTTP 404"),
    ],
)
async def test_twilio_errors(
    status: int,
    body: str,
    reason: Reason,
    message: str,
    http: Any,
    session: aiohttp.ClientSession,
) -> None:
    answer(http, TWILIO_URL, body, status=status)

    failure = await fail(twilio(), session)

    assert failure.reason is reason
    assert failure.status == status
    assert failure.message == message


@pytest.mark.parametrize(
    "body",
    [
        '{"code": 20404, "message": "The requested resource'
        f' /2010-04-01/Accounts/{ACCOUNT_SID}/Balance.json was not found",'
        ' "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404}',
        '{"type": "https://www.twilio.com/docs/errors/20404", "title": "Not Found",'
        ' "status": 404, "code": "20404", "detail": "The requested resource was not found"}',
    ],
)
async def test_twilio_subaccount_404_tells_to_configure_the_parent(
    body: str, http: Any, session: aiohttp.ClientSession
) -> None:
    answer(http, TWILIO_URL, body, status=404)

    failure = await fail(twilio(), session)

    assert failure.reason is Reason.CLIENT_ERROR
    assert failure.status == 404
    assert failure.code == "20404"
    assert failure.message == f"HTTP 404, twilio code 20404: {SUBACCOUNT_HINT}"
    assert "configure the parent account" in failure.message


@pytest.mark.parametrize(
    "body",
    [
        f'{{"balance": null, "currency": null, "account_sid": "{ACCOUNT_SID}"}}',
        f'{{"balance": null, "currency": "USD", "account_sid": "{ACCOUNT_SID}"}}',
    ],
)
async def test_twilio_subaccount_null_balance_tells_to_configure_the_parent(
    body: str, http: Any, session: aiohttp.ClientSession
) -> None:
    answer(http, TWILIO_URL, body)

    failure = await fail(twilio(), session)

    assert failure.reason is Reason.CLIENT_ERROR
    assert failure.status == 200
    assert failure.message == SUBACCOUNT_HINT
    assert "configure the parent account" in failure.message


async def test_twilio_answer_without_a_balance_field_is_invalid_not_a_subaccount(
    http: Any, session: aiohttp.ClientSession
) -> None:
    answer(http, TWILIO_URL, '{"result": ["unexpected"]}')

    failure = await fail(twilio(), session)

    assert failure.reason is Reason.INVALID_RESPONSE
    assert failure.message == "response has no balance field"


# --- Clickatell ------------------------------------------------------------------------------


@pytest.mark.parametrize("api", [None, "rest"])
async def test_clickatell_rest_success_counts_credits(
    api: str | None, http: Any, session: aiohttp.ClientSession
) -> None:
    answer(http, CLICKATELL_URL, '{"data": {"balance": "300.50"}}')

    reading = await read(clickatell(api=api), session)

    assert reading == Reading(currency="credits", balance=Decimal("300.50"))
    assert str(reading.balance) == "300.50"


async def test_clickatell_rest_uses_the_configured_currency(
    http: Any, session: aiohttp.ClientSession
) -> None:
    answer(http, CLICKATELL_URL, '{"data": {"balance": 12}}')

    reading = await read(clickatell(currency="EUR"), session)

    assert reading == Reading(currency="EUR", balance=Decimal("12"))


async def test_clickatell_platform_success(http: Any, session: aiohttp.ClientSession) -> None:
    answer(http, PLATFORM_URL, '{"balance": 1267.92865, "currency": "ZAR"}')

    reading = await read(platform(), session)

    assert reading == Reading(currency="ZAR", balance=Decimal("1267.92865"))
    url, headers = only_request(http)
    assert url == PLATFORM_URL
    assert headers["Authorization"] == API_KEY
    assert "X-Version" not in headers


async def test_clickatell_platform_configured_currency_wins(
    http: Any, session: aiohttp.ClientSession
) -> None:
    answer(http, PLATFORM_URL, '{"balance": "10", "currency": "ZAR"}')

    reading = await read(platform(currency="USD"), session)

    assert reading == Reading(currency="USD", balance=Decimal("10"))


@pytest.mark.parametrize(
    "body",
    [
        '{"errorCode": 43, "error": "Rate limit exceeded",'
        ' "errorDescription": "Too many requests"}',
        '{"error": {"code": 43, "description": "Too many requests"}}',
        '{"error": {"code": "043", "description": "Too many requests"}}',
    ],
)
async def test_clickatell_platform_rate_limit_is_http_400_code_43(
    body: str, http: Any, session: aiohttp.ClientSession
) -> None:
    answer(http, PLATFORM_URL, body, status=400, headers={"Retry-After": "60"})

    failure = await fail(platform(), session)

    assert failure.reason is Reason.RATE_LIMITED
    assert failure.status == 400
    assert failure.code == "43"
    assert failure.message == "HTTP 400, clickatell code 43: Too many requests"
    assert failure.retry_after == 60.0


@pytest.mark.parametrize(
    ("case_id", "status", "body", "reason", "message"),
    [
        (
            "clickatell-rest",
            401,
            '{"error": {"code": "001", "description": "Authentication failed",'
            ' "documentation": "http://www.clickatell.com/help/apidocs/error/001.htm"}}',
            Reason.AUTH,
            "HTTP 401, clickatell code 1: Authentication failed",
        ),
        (
            "clickatell-rest",
            400,
            '{"error": {"code": "007", "description": "IP Lockdown violation"}}',
            Reason.AUTH,
            "HTTP 400, clickatell code 7: IP Lockdown violation",
        ),
        (
            "clickatell-rest",
            400,
            '{"error": {"code": "101", "description": "Invalid or missing parameters"}}',
            Reason.CLIENT_ERROR,
            "HTTP 400, clickatell code 101: Invalid or missing parameters",
        ),
        (
            "clickatell-platform",
            401,
            '{"errorCode": 1, "error": "Invalid or missing Integration API Key",'
            ' "errorDescription": "Invalid or missing Integration API Key"}',
            Reason.AUTH,
            "HTTP 401, clickatell code 1: Invalid or missing Integration API Key",
        ),
        (
            "clickatell-platform",
            500,
            '{"error": "Internal error"}',
            Reason.SERVER_ERROR,
            "HTTP 500: Internal error",
        ),
    ],
)
async def test_clickatell_errors(
    case_id: str,
    status: int,
    body: str,
    reason: Reason,
    message: str,
    http: Any,
    session: aiohttp.ClientSession,
) -> None:
    case = CASES[case_id]
    answer(http, case.url, body, status=status)

    failure = await fail(case.make(), session)

    assert failure.reason is reason
    assert failure.message == message


# --- You.com ---------------------------------------------------------------------------------


async def test_youcom_balance_is_in_cents(http: Any, session: aiohttp.ClientSession) -> None:
    answer(
        http,
        YOUCOM_URL,
        '{"data": {"type": "account", "id": "a1b2c3d4e5", "attributes": {"balance": 718924.5}}}',
    )

    reading = await read(youcom(), session)

    assert reading == Reading(
        currency="USD", balance=Decimal("7189.245"), provider_account_id="a1b2c3d4e5"
    )
    assert str(reading.balance) == "7189.245"


@pytest.mark.parametrize(
    ("cents", "dollars"),
    [("0", "0"), ("1", "0.01"), ("100000", "1000"), ("-250", "-2.5"), ('"99.9"', "0.999")],
)
async def test_youcom_cents_to_dollars(
    cents: str, dollars: str, http: Any, session: aiohttp.ClientSession
) -> None:
    answer(http, YOUCOM_URL, f'{{"data": {{"id": "e", "attributes": {{"balance": {cents}}}}}}}')

    reading = await read(youcom(), session)

    assert reading.balance == Decimal(dollars)
    assert reading.currency == "USD"


async def test_youcom_without_id(http: Any, session: aiohttp.ClientSession) -> None:
    answer(http, YOUCOM_URL, '{"data": {"type": "account", "attributes": {"balance": 5}}}')

    reading = await read(youcom(), session)

    assert reading == Reading(currency="USD", balance=Decimal("0.05"))


@pytest.mark.parametrize(
    ("status", "detail", "reason"),
    [
        (401, "Invalid API key.", Reason.AUTH),
        (403, "API key lacks scope for this path.", Reason.AUTH),
        (500, "Internal Server Error during authentication.", Reason.SERVER_ERROR),
    ],
)
async def test_youcom_errors(
    status: int, detail: str, reason: Reason, http: Any, session: aiohttp.ClientSession
) -> None:
    answer(http, YOUCOM_URL, f'{{"detail": "{detail}"}}', status=status)

    failure = await fail(youcom(), session)

    assert failure.reason is reason
    assert failure.status == status
    assert failure.code is None
    assert failure.message == f"HTTP {status}: {detail}"


# --- 23 Telecom ------------------------------------------------------------------------------

UPDATED = 1_770_977_700.0  # 2026-02-13 10:15:00 UTC


async def test_23telecom_success(http: Any, session: aiohttp.ClientSession) -> None:
    answer(
        http,
        TELECOM23_URL,
        '{"balance": 1250.50, "currency": "EUR", "updated": "2026.02.13 10:15:00"}',
    )

    reading = await read(telecom23(), session)

    assert reading == Reading(
        currency="EUR",
        balance=Decimal("1250.50"),
        credit_blocked=False,
        provider_updated=UPDATED,
    )
    assert reading.trusted is True


async def test_23telecom_credit_blocked(http: Any, session: aiohttp.ClientSession) -> None:
    answer(
        http,
        TELECOM23_URL,
        '{"balance": -0.42, "currency": "EUR", "updated": "2026.02.13 10:15:00",'
        ' "credit_blocked": true}',
    )

    reading = await read(telecom23(), session)

    assert reading == Reading(
        currency="EUR",
        balance=Decimal("-0.42"),
        credit_blocked=True,
        provider_updated=UPDATED,
    )


async def test_23telecom_without_updated(http: Any, session: aiohttp.ClientSession) -> None:
    answer(http, TELECOM23_URL, '{"balance": "0", "currency": "GBP", "credit_blocked": true}')

    reading = await read(telecom23(), session)

    assert reading == Reading(currency="GBP", balance=Decimal("0"), credit_blocked=True)


@pytest.mark.parametrize(
    "body",
    [
        '{"status": false, "error": "Account is in setup process"}',
        '{"status": false, "error": "Account is in setup process", "step": "kyc"}',
    ],
)
async def test_23telecom_setup_is_not_ready_and_not_an_error(
    body: str, http: Any, session: aiohttp.ClientSession
) -> None:
    answer(http, TELECOM23_URL, body)

    reading = await read(telecom23(), session)

    assert reading == Reading(ready=False)
    assert reading.balance is None
    assert reading.trusted is False


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (
            {"X-Sms-Gateway-Status": "partial", "X-Sms-Gateway-Reason": "cache_disabled"},
            "cache_disabled",
        ),
        (
            {
                "X-Sms-Gateway-Status": "unavailable",
                "X-Sms-Gateway-Reason": "cache_miss_refresh_failed",
            },
            "cache_miss_refresh_failed",
        ),
        ({"X-Sms-Gateway-Status": "Partial"}, "partial"),
        ({"x-sms-gateway-status": "unavailable"}, "unavailable"),
    ],
)
async def test_23telecom_degraded_by_header(
    headers: dict[str, str], reason: str, http: Any, session: aiohttp.ClientSession
) -> None:
    answer(
        http,
        TELECOM23_URL,
        '{"balance": 0, "currency": "EUR", "updated": "2026.02.13 10:15:00"}',
        headers=headers,
    )

    reading = await read(telecom23(), session)

    assert reading == Reading(degraded=True, degraded_reason=reason)
    assert reading.balance is None
    assert reading.trusted is False


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            '{"balance": 0, "currency": "EUR", "unavailable": true,'
            ' "reason": "cache_miss_refresh_failed"}',
            "cache_miss_refresh_failed",
        ),
        ('{"balance": 0, "currency": "EUR", "unavailable": true}', "unavailable"),
    ],
)
async def test_23telecom_degraded_by_body_never_gives_its_zero(
    body: str, reason: str, http: Any, session: aiohttp.ClientSession
) -> None:
    answer(http, TELECOM23_URL, body)

    reading = await read(telecom23(), session)

    assert reading == Reading(degraded=True, degraded_reason=reason)
    assert reading.degraded is True
    assert reading.trusted is False
    assert reading.balance is None


async def test_23telecom_healthy_status_header_is_not_degraded(
    http: Any, session: aiohttp.ClientSession
) -> None:
    answer(
        http,
        TELECOM23_URL,
        '{"balance": 3, "currency": "EUR", "unavailable": false}',
        headers={"X-Sms-Gateway-Status": "ok"},
    )

    reading = await read(telecom23(), session)

    assert reading == Reading(currency="EUR", balance=Decimal("3"), credit_blocked=False)


@pytest.mark.parametrize(
    ("status", "code", "description", "reason"),
    [
        (402, "INSUFFICIENT_BALANCE", "Insufficient balance", Reason.CLIENT_ERROR),
        (401, "INVALID_API_KEY", "Invalid API key", Reason.AUTH),
        (403, "PERMISSION_DENIED", "Missing permission balance.read", Reason.AUTH),
        (500, "INTERNAL_ERROR", "Internal error", Reason.SERVER_ERROR),
        (429, "RATE_LIMITED", "Too many requests", Reason.RATE_LIMITED),
        # The code decides, never the text:
        (400, "RATE_LIMIT_EXCEEDED", "Invalid API key", Reason.RATE_LIMITED),
        (400, "INVALID_API_KEY", "Too many requests, slow down", Reason.AUTH),
        (400, "VALIDATION_FAILED", "Invalid API key; rate limit exceeded", Reason.CLIENT_ERROR),
        (503, "SERVICE_UNAVAILABLE", "Unauthorized", Reason.SERVER_ERROR),
        (200, "INVALID_API_KEY", "Account is in setup process", Reason.AUTH),
    ],
)
async def test_23telecom_errors_are_classified_on_error_code(
    status: int,
    code: str,
    description: str,
    reason: Reason,
    http: Any,
    session: aiohttp.ClientSession,
) -> None:
    body = f'{{"status": false, "error_code": "{code}", "description": "{description}"}}'
    answer(http, TELECOM23_URL, body, status=status)

    failure = await fail(telecom23(), session)

    assert failure.reason is reason
    assert failure.status == status
    assert failure.code == code
    assert failure.message == f"HTTP {status}, 23telecom code {code}: {description}"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("", "text/plain"),
        ("<html><head><title>429 Too Many Requests</title></head></html>", "text/html"),
    ],
)
async def test_23telecom_429_without_json(
    body: str, content_type: str, http: Any, session: aiohttp.ClientSession
) -> None:
    answer(
        http,
        TELECOM23_URL,
        body,
        status=429,
        content_type=content_type,
        headers={"Retry-After": "90"},
    )

    failure = await fail(telecom23(), session)

    assert failure.reason is Reason.RATE_LIMITED
    assert failure.message == "HTTP 429"
    assert failure.retry_after == 90.0
