"""One poll of one account: polling.poll.poll, with a minimal provider and mocked HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from decimal import Decimal
from email.utils import formatdate
from typing import Any, ClassVar
from unittest.mock import Mock
from urllib.parse import quote

import aiohttp
import pytest
from conftest import MockResponse
from yarl import URL

from balance_exporter import __version__
from balance_exporter.config.account import AccountConfig
from balance_exporter.config.secret import FRAGMENT, Redaction, Secret, redact
from balance_exporter.metrics.reading import Reading
from balance_exporter.metrics.snapshot import SnapshotStore
from balance_exporter.polling import poll as poll_module
from balance_exporter.polling.clock import SystemClock
from balance_exporter.polling.errors import PollError, Reason, reason_for_status
from balance_exporter.polling.poll import AccountRedaction, poll
from balance_exporter.polling.scheduler import Scheduler
from balance_exporter.providers.base import ErrorDetail, Provider, Request, Response, text_of
from balance_exporter.providers.shared.parsing import amount, mapping
from balance_exporter.providers.telnyx import TelnyxSettings

NOW = 1_770_000_000.0
KEY = "pk_live_canary_" + "5a4b3c2d1e0f" * 4
URL_ = "http://127.0.0.1:8099/balance"

Parser = Callable[[Response], Reading]


def default_parse(response: Response) -> Reading:
    body = mapping(response.json(), "response")
    return Reading(currency="EUR", balance=amount(body.get("balance"), "balance"))


class Fake(Provider[TelnyxSettings]):
    """A provider reduced to what poll() relies on: a request, a parser, an error reader."""

    name = "fake"
    default_base_url = "http://127.0.0.1:8099"
    settings_type = TelnyxSettings
    code_reasons: ClassVar[dict[str, Reason]] = {"SLOW_DOWN": Reason.RATE_LIMITED}

    def __init__(self, account: AccountConfig, parser: Parser = default_parse) -> None:
        super().__init__(account)
        self.parser = parser
        self.parsed = 0

    def request(self) -> Request:
        return Request(f"{self.base_url}/balance", {"Authorization": f"Token {KEY}"})

    def parse(self, response: Response) -> Reading:
        self.parsed += 1
        return self.parser(response)

    def error_detail(self, body: Any) -> ErrorDetail:
        if not isinstance(body, dict):
            return ErrorDetail()
        return ErrorDetail(text_of(body.get("code")), text_of(body.get("message")))


def fake(parser: Parser = default_parse, *, timeout: float = 15.0) -> Fake:
    account = AccountConfig(
        name="fake-main",
        provider="fake",
        interval=300.0,
        timeout=timeout,
        settings=TelnyxSettings(api_key=Secret(KEY)),
    )
    return Fake(account, parser)


def answer(
    http: Any, body: str | bytes = "", *, status: int = 200, headers: dict[str, str] | None = None
) -> None:
    http.get(URL_, status=status, body=body, headers=headers or {}, response_class=MockResponse)


async def fail(
    provider: Provider[Any], session: aiohttp.ClientSession, now: float = NOW
) -> PollError:
    with pytest.raises(PollError) as caught:
        await poll(provider, session, now)
    return caught.value


# --- the generic reading of HTTP statuses ----------------------------------------------------


# The reason each status that is not 2xx stands for when no provider code decides.
STATUS_REASONS = {
    300: Reason.CLIENT_ERROR,
    301: Reason.CLIENT_ERROR,
    302: Reason.CLIENT_ERROR,
    304: Reason.CLIENT_ERROR,
    307: Reason.CLIENT_ERROR,
    308: Reason.CLIENT_ERROR,
    400: Reason.CLIENT_ERROR,
    401: Reason.AUTH,
    402: Reason.CLIENT_ERROR,
    403: Reason.AUTH,
    404: Reason.CLIENT_ERROR,
    405: Reason.CLIENT_ERROR,
    407: Reason.CLIENT_ERROR,
    408: Reason.CLIENT_ERROR,
    410: Reason.CLIENT_ERROR,
    418: Reason.CLIENT_ERROR,
    422: Reason.CLIENT_ERROR,
    429: Reason.RATE_LIMITED,
    451: Reason.CLIENT_ERROR,
    499: Reason.CLIENT_ERROR,
    500: Reason.SERVER_ERROR,
    501: Reason.SERVER_ERROR,
    502: Reason.SERVER_ERROR,
    503: Reason.SERVER_ERROR,
    504: Reason.SERVER_ERROR,
    520: Reason.SERVER_ERROR,
    599: Reason.SERVER_ERROR,
}


@pytest.mark.parametrize(("status", "reason"), STATUS_REASONS.items())
def test_reason_for_status(status: int, reason: Reason) -> None:
    assert reason_for_status(status) is reason


@pytest.mark.parametrize("status", [301, 302, 400, 401, 403, 404, 429, 500, 503])
async def test_non_2xx_is_a_failure_and_never_parsed(
    status: int, http: Any, session: aiohttp.ClientSession
) -> None:
    provider = fake()
    answer(http, '{"balance": "1"}', status=status, headers={"Location": "/elsewhere"})

    failure = await fail(provider, session)

    assert failure.reason is STATUS_REASONS[status]
    assert failure.status == status
    assert failure.message == f"HTTP {status}"
    assert failure.code is None
    assert provider.parsed == 0


@pytest.mark.parametrize("status", [200, 201, 202, 203])
async def test_2xx_is_parsed(status: int, http: Any, session: aiohttp.ClientSession) -> None:
    provider = fake()
    answer(http, '{"balance": "42.10"}', status=status)

    reading = await poll(provider, session, NOW)

    assert reading == Reading(currency="EUR", balance=Decimal("42.10"))
    assert provider.parsed == 1


async def test_204_without_a_body_is_invalid(http: Any, session: aiohttp.ClientSession) -> None:
    answer(http, status=204)

    failure = await fail(fake(), session)

    assert failure.reason is Reason.INVALID_RESPONSE


async def test_the_provider_code_decides_over_the_status(
    http: Any, session: aiohttp.ClientSession
) -> None:
    answer(http, '{"code": "SLOW_DOWN", "message": "Easy"}', status=400)

    failure = await fail(fake(), session)

    assert failure.reason is Reason.RATE_LIMITED
    assert failure.code == "SLOW_DOWN"
    assert failure.message == "HTTP 400, fake code SLOW_DOWN: Easy"


async def test_error_text_is_one_short_line(http: Any, session: aiohttp.ClientSession) -> None:
    answer(http, '{"message": "first line\\nsecond\\tline  ' + "z" * 300 + '"}', status=500)

    failure = await fail(fake(), session)

    assert failure.message == "HTTP 500: first line second line " + "z" * 176 + "…"
    assert len(failure.message) == len("HTTP 500: ") + 200
    assert "\n" not in failure.message


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html>oops</html>",
        b"\xff\xfe",
        b"[1, 2]",
        b'"text"',
        b'{"code": ' + b"7" * 5000 + b"}",
    ],
)
async def test_unreadable_error_body_falls_back_to_the_status(
    body: bytes, http: Any, session: aiohttp.ClientSession
) -> None:
    answer(http, body, status=503)

    failure = await fail(fake(), session)

    assert failure.reason is Reason.SERVER_ERROR
    assert failure.message == "HTTP 503"


# --- waits asked by the provider -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (429, {"Retry-After": "30"}, 30.0),
        (503, {"Retry-After": "120"}, 120.0),
        (429, {"retry-after-ms": "2500"}, 2.5),
        (429, {"x-ratelimit-reset": "17"}, 17.0),
        (429, {"Retry-After": formatdate(NOW + 300, usegmt=True)}, 300.0),
        (429, {"Retry-After": "later"}, None),
        (429, {}, None),
        (401, {}, None),
    ],
)
async def test_requested_wait_is_reported(
    status: int,
    headers: dict[str, str],
    expected: float | None,
    http: Any,
    session: aiohttp.ClientSession,
) -> None:
    answer(http, status=status, headers=headers)

    failure = await fail(fake(), session)

    assert failure.retry_after == expected


async def test_http_date_wait_is_relative_to_the_now_given(
    http: Any, session: aiohttp.ClientSession
) -> None:
    date = formatdate(NOW + 300, usegmt=True)
    answer(http, status=429, headers={"Retry-After": date})
    answer(http, status=429, headers={"Retry-After": date})

    first = await fail(fake(), session, NOW)
    later = await fail(fake(), session, NOW + 100)

    assert first.retry_after == 300.0
    assert later.retry_after == 200.0


# --- failures on the way ---------------------------------------------------------------------


@pytest.mark.parametrize(("seconds", "text"), [(15.0, "15s"), (2.5, "2.5s"), (0.2, "0.2s")])
async def test_timeout_names_the_account_timeout(
    seconds: float, text: str, http: Any, session: aiohttp.ClientSession
) -> None:
    http.get(URL_, exception=TimeoutError())

    failure = await fail(fake(timeout=seconds), session)

    assert failure.reason is Reason.TIMEOUT
    assert failure.message == f"no complete answer within {text}"


@pytest.mark.parametrize(
    ("exception", "reason", "message"),
    [
        (
            aiohttp.ClientConnectionError("Connection refused"),
            Reason.NETWORK,
            "ClientConnectionError: Connection refused",
        ),
        (aiohttp.ServerDisconnectedError(), Reason.NETWORK, "ServerDisconnectedError: "),
        (ConnectionResetError("reset by peer"), Reason.NETWORK, "ConnectionResetError: reset"),
        (OSError("Network is unreachable"), Reason.NETWORK, "OSError: Network is unreachable"),
        (
            aiohttp.ClientPayloadError("Response payload is not completed"),
            Reason.NETWORK,
            "connection broke while reading the answer: Response payload is not completed",
        ),
        (
            aiohttp.ClientResponseError(Mock(real_url="x"), (), status=400, message="Bad line"),
            Reason.INVALID_RESPONSE,
            "malformed HTTP answer: ",
        ),
    ],
)
async def test_transport_failures_are_classified(
    exception: Exception,
    reason: Reason,
    message: str,
    http: Any,
    session: aiohttp.ClientSession,
) -> None:
    http.get(URL_, exception=exception)

    failure = await fail(fake(), session)

    assert failure.reason is reason
    assert failure.message.startswith(message)
    assert failure.status is None
    assert failure.__cause__ is None


@pytest.mark.parametrize(
    "error", [KeyError, TypeError, ValueError, AttributeError, ZeroDivisionError]
)
async def test_unforeseen_answer_shape_costs_the_poll_only(
    error: type[Exception], http: Any, session: aiohttp.ClientSession
) -> None:
    def broken(response: Response) -> Reading:
        raise error(f"detail with {KEY}")

    answer(http, '{"balance": "1"}')

    failure = await fail(fake(broken), session)

    assert failure.reason is Reason.INVALID_RESPONSE
    assert failure.message == f"unreadable answer ({error.__name__})"
    assert failure.__cause__ is None
    assert failure.__suppress_context__ is True


async def test_a_bug_outside_the_answer_is_not_hidden(
    http: Any, session: aiohttp.ClientSession
) -> None:
    def broken(response: Response) -> Reading:
        raise RuntimeError("a bug")

    answer(http, '{"balance": "1"}')

    with pytest.raises(RuntimeError, match="a bug"):
        await poll(fake(broken), session, NOW)


async def test_request_sent_once_with_session_headers(
    http: Any, session: aiohttp.ClientSession
) -> None:
    answer(http, '{"balance": "1"}')

    await poll(fake(), session, NOW)

    ((key, calls),) = http.requests.items()
    assert key == ("GET", URL(URL_))
    (call,) = calls
    assert dict(call.kwargs["headers"]) == {
        "User-Agent": f"balance-exporter/{__version__}",
        "Authorization": f"Token {KEY}",
    }
    assert call.kwargs["allow_redirects"] is False


# --- secrets never leave in a failure --------------------------------------------------------


def assert_clean(failure: PollError) -> None:
    for text in (failure.message, str(failure), repr(failure), *map(str, failure.args)):
        assert KEY[:FRAGMENT].lower() not in text.lower(), text


@pytest.mark.parametrize(
    "message",
    [
        f"key {KEY} refused",
        f"key {KEY.upper()} refused",
        f"quoted {KEY[:40]!r}",
        f"cut {KEY[:FRAGMENT]}…",
        f"twice {KEY} and {KEY}",
    ],
)
async def test_secret_in_a_parser_failure_is_scrubbed(
    message: str, http: Any, session: aiohttp.ClientSession
) -> None:
    def echoing(response: Response) -> Reading:
        raise PollError(Reason.INVALID_RESPONSE, message)

    answer(http, '{"balance": "1"}')

    failure = await fail(fake(echoing), session)

    assert failure.reason is Reason.INVALID_RESPONSE
    assert "********" in failure.message
    assert_clean(failure)


async def test_secret_in_an_error_body_is_scrubbed(
    http: Any, session: aiohttp.ClientSession
) -> None:
    answer(http, f'{{"code": "X", "message": "bad key {KEY}"}}', status=401)

    failure = await fail(fake(), session)

    assert failure.message == "HTTP 401, fake code X: bad key ********"
    assert str(failure) == failure.message
    assert (
        repr(failure) == "PollError('auth', 'HTTP 401, fake code X: bad key ********', status=401)"
    )
    assert_clean(failure)


async def test_secret_echoed_as_the_error_code_is_scrubbed(
    http: Any, session: aiohttp.ClientSession
) -> None:
    answer(http, f'{{"code": "{KEY}", "message": "no"}}', status=403)

    failure = await fail(fake(), session)

    assert failure.reason is Reason.AUTH
    assert failure.code == "********"
    assert failure.message == "HTTP 403, fake code ********: no"


async def test_a_key_echoed_url_encoded_is_scrubbed(
    http: Any, session: aiohttp.ClientSession
) -> None:
    # A key sent in a query string comes back percent-encoded in an echoed URL.
    key = "k3y/canary+Z9=w q&x"
    provider = Fake(replace(fake().account, settings=TelnyxSettings(api_key=Secret(key))))
    echoed = f"GET /balance?api_key={quote(key, safe='')} refused"
    answer(http, json.dumps({"code": "X", "message": echoed}), status=401)

    failure = await fail(provider, session)

    assert failure.message == "HTTP 401, fake code X: GET /balance?api_key=******** refused"


def test_redact() -> None:
    secrets = [Secret("abcdefghijklmnop"), Secret("QRSTUVWX")]

    assert redact("x abcdefghijklmnop y", secrets) == "x ******** y"
    assert redact("x ABCDEFGHIJKLMNOP y", secrets) == "x ******** y"
    assert redact("x 'abcdefghij'", secrets) == "x '********'"
    assert redact("x abcdefgh", secrets) == "x ********"
    assert redact("qrstuvwx and abcdefghijklmnop", secrets) == "******** and ********"
    # Pieces shorter than FRAGMENT, and secrets too short to be told from text, stay.
    assert FRAGMENT == 8
    assert redact("x abcdefg", secrets) == "x abcdefg"
    assert redact("the cat", [Secret("cat")]) == "the cat"
    assert redact("a.b*c", [Secret("a.b*c")]) == "********"
    assert redact("nothing here", secrets) == "nothing here"


# --- redaction is built once per account, in linear time ---------------------------------------


class CountingRedaction(Redaction):
    built = 0

    def __init__(self, secrets: Iterable[Secret]) -> None:
        CountingRedaction.built += 1
        super().__init__(secrets)


async def test_a_prepared_redaction_is_not_rebuilt_per_failed_poll(
    http: Any, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(poll_module, "Redaction", CountingRedaction)
    CountingRedaction.built = 0
    provider = fake()
    prepared = AccountRedaction(provider)
    assert CountingRedaction.built == 0  # made when first needed, not for every account
    prepared.redaction.apply("")
    built = CountingRedaction.built
    for _ in range(5):
        answer(http, json.dumps({"code": "X", "message": f"bad key {KEY}"}), status=401)
        with pytest.raises(PollError) as caught:
            await poll(provider, session, NOW, prepared)
        assert KEY[:FRAGMENT] not in caught.value.message

    assert built == 1
    assert CountingRedaction.built == built  # five failures, no redaction compiled


async def test_the_scheduler_prepares_each_accounts_redaction_once(
    http: Any, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(poll_module, "Redaction", CountingRedaction)
    CountingRedaction.built = 0
    scheduler = Scheduler(SnapshotStore(), SystemClock(), session)
    account = replace(
        fake().account, provider="telnyx", settings=TelnyxSettings(api_key=Secret(KEY))
    )
    telnyx = "https://api.telnyx.com/v2/balance"
    for _ in range(4):
        http.get(telnyx, status=401, body="{}", response_class=MockResponse)
        with pytest.raises(PollError):
            await scheduler._poll_provider(account)

    assert CountingRedaction.built == 1


def test_redaction_pattern_does_not_grow_with_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    # Today's cost was one alternative per prefix length: 4 KiB gave an 8 MB pattern.
    compiled: list[int] = []
    real_compile = re.compile

    def spy(pattern: str, flags: int = 0) -> re.Pattern[str]:
        compiled.append(len(pattern))
        return real_compile(pattern, flags)

    monkeypatch.setattr(re, "compile", spy)
    long_secret = "".join(chr(33 + (i * 7) % 90) for i in range(4_096))
    blank = Redaction([Secret(long_secret)])

    assert compiled
    assert max(compiled) < 100
    assert blank.apply(f"x {long_secret[:3_000]} y") == "x ******** y"
    assert blank.apply(f"x {long_secret.lower()}!") == "x ********!"
    assert blank.apply(f"{long_secret[:7]}") == long_secret[:7]


def test_redaction_blanks_the_longest_form_in_one_piece() -> None:
    # A key and its percent-encoding share their first characters: neither leaves a tail.
    key = "abcdefghij/k+l"
    forms = [Secret(key), Secret(quote(key, safe=""))]
    assert Redaction(forms).apply(f"<{quote(key, safe='')}>") == "<********>"
    assert Redaction(forms).apply(f"<{key}>") == "<********>"
    assert Redaction(forms).apply(f"{key}{key}") == "****************"
