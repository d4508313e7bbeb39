"""Infobip's case table: its API for the registry-wide suites, its answers, its simulator.

Infobip has no shared host: ``base_url`` is required, so the API's config carries one (a
personal host). The kit's ``account_for`` lets a test's ``base_url=`` replace it (the keys are
a dict, not YAML lines).
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from provider_kit import (
    API_KEY,
    NO_WAIT,
    Answer,
    Api,
    Failure,
    SimAnswer,
    mock_answer,
    only_request,
    provider_for,
    read,
    table_tests,
)

from balance_exporter.config.checker import ConfigError, parse_config
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import Reason
from balance_exporter.simulator import SimAccount

PROVIDER = "infobip"
SIM_KEY = "infobip-canary-Qm47"
HOST = "https://y8kq3z.api.infobip.com"  # an account's personal host
PATH = "/account/1/balance"
# Written out rather than imported, so that a changed hint fails here.
EXPIRY = " (Infobip API keys stop working on their expiry date)"
SCOPE = " (the API key needs the scope account-management:manage)"

APIS = {
    "": Api(
        config={"base_url": HOST, "api_key": API_KEY},
        url=HOST + PATH,
        headers={"Authorization": f"App {API_KEY}", "Accept": "application/json"},
        success=lambda value: {"balance": value, "currency": "EUR"},
        # BAD_REQUEST is no code of code_reasons: the status decides.
        error=lambda text: service_exception("BAD_REQUEST", text),
        sim_account=SimAccount(PROVIDER, SIM_KEY, balance=Decimal("47.79134"), currency="EUR"),
        sim_request=(PATH, {"Authorization": f"App {SIM_KEY}", "Accept": "application/json"}),
    )
}


def service_exception(message_id: Any, text: Any = None) -> dict[str, Any]:
    """The legacy envelope of Infobip's errors."""
    exception = {"messageId": message_id}
    if text is not None:
        exception["text"] = text
    return {"requestError": {"serviceException": exception}}


def failed(status: int, code: str, text: str, reason: Reason) -> Failure:
    return Failure(reason, f"HTTP {status}, infobip code {code}: {text}", code=code, status=status)


UNAUTHORIZED = service_exception("UNAUTHORIZED", "Invalid login details")
XML_401 = (
    "<ApiException><requestError><serviceException><messageId>UNAUTHORIZED</messageId>"
    "<text>Invalid login details</text></serviceException></requestError></ApiException>"
)

ANSWERS = [
    # The documented example, its decimals kept exactly.
    Answer(
        "success",
        '{"balance": 47.79134, "currency": "EUR"}',
        reading=Reading(currency="EUR", balance=Decimal("47.79134")),
    ),
    # The currency is the account's: never assumed to be EUR.
    Answer(
        "other-currency",
        {"balance": 1250, "currency": "USD"},
        reading=Reading(currency="USD", balance=Decimal("1250")),
    ),
    Answer(
        "below-zero",
        '{"balance": -3.75, "currency": "GBP"}',
        reading=Reading(currency="GBP", balance=Decimal("-3.75")),
    ),
    Answer(
        "zero",
        {"balance": 0, "currency": "EUR"},
        reading=Reading(currency="EUR", balance=Decimal("0")),
    ),
    Answer(
        "lower-case-currency",
        '{"balance": 0.1, "currency": "eur"}',
        reading=Reading(currency="EUR", balance=Decimal("0.1")),
    ),
    Answer(
        "numeric-string-balance",
        {"balance": "12.50", "currency": "EUR"},
        reading=Reading(currency="EUR", balance=Decimal("12.50")),
    ),
    Answer(
        "no-balance-field",
        {"currency": "EUR"},
        failure=Failure(Reason.INVALID_RESPONSE, "response has no balance field"),
    ),
    Answer(
        "null-balance",
        {"balance": None, "currency": "EUR"},
        failure=Failure(Reason.INVALID_RESPONSE, "balance is null, not an amount"),
    ),
    Answer(
        "no-currency",
        {"balance": 47.79},
        failure=Failure(Reason.INVALID_RESPONSE, "response has no currency"),
    ),
    Answer(
        "currency-symbol",
        {"balance": 47.79, "currency": "€"},
        failure=Failure(Reason.INVALID_RESPONSE, "response.currency is not a currency code: '€'"),
    ),
    # /account/1/total-balance gives the currency as an object: not this endpoint's answer.
    Answer(
        "total-balance-shape",
        {"balance": 47.79, "allowedMinus": 0, "currency": {"id": 2, "currencyCode": "EUR"}},
        failure=Failure(
            Reason.INVALID_RESPONSE, "response.currency is an object, expected a string"
        ),
    ),
    # Errors, classified on messageId; an expired key or a missing scope is said so.
    Answer(
        "401",
        UNAUTHORIZED,
        status=401,
        failure=failed(401, "UNAUTHORIZED", "Invalid login details" + EXPIRY, Reason.AUTH),
    ),
    Answer(
        "401-openapi-text",
        service_exception("UNAUTHORIZED", "Unauthorized"),
        status=401,
        failure=failed(401, "UNAUTHORIZED", "Unauthorized" + EXPIRY, Reason.AUTH),
    ),
    Answer(
        "403-forbidden",
        service_exception("FORBIDDEN", "Forbidden"),
        status=403,
        failure=failed(403, "FORBIDDEN", "Forbidden" + SCOPE, Reason.AUTH),
    ),
    # The SDK tests' 403: UNAUTHORIZED on 403, still the missing scope.
    Answer(
        "403-unauthorized",
        service_exception("UNAUTHORIZED", "Unauthorized access"),
        status=403,
        failure=failed(403, "UNAUTHORIZED", "Unauthorized access" + SCOPE, Reason.AUTH),
    ),
    Answer(
        "404",
        service_exception("NOT_FOUND", "Requested resource not found"),
        status=404,
        failure=failed(404, "NOT_FOUND", "Requested resource not found", Reason.CLIENT_ERROR),
    ),
    Answer(
        "429-with-retry-after",
        service_exception("TOO_MANY_REQUESTS", "Too many requests"),
        status=429,
        headers={"Retry-After": "30"},
        failure=Failure(
            Reason.RATE_LIMITED,
            "HTTP 429, infobip code TOO_MANY_REQUESTS: Too many requests",
            retry_after=30.0,
        ),
    ),
    # No rate-limit header is documented: without one, no wait is made up.
    Answer(
        "429",
        service_exception("TOO_MANY_REQUESTS", "Too many requests"),
        status=429,
        failure=Failure(
            Reason.RATE_LIMITED,
            "HTTP 429, infobip code TOO_MANY_REQUESTS: Too many requests",
            retry_after=NO_WAIT,
        ),
    ),
    Answer(
        "500",
        service_exception("GENERAL_ERROR", "Something went wrong. Please contact support."),
        status=500,
        failure=failed(
            500,
            "GENERAL_ERROR",
            "Something went wrong. Please contact support.",
            Reason.SERVER_ERROR,
        ),
    ),
    # The messageId decides over the status, and the text never does.
    Answer(
        "unauthorized-code-on-400",
        UNAUTHORIZED,
        status=400,
        failure=failed(400, "UNAUTHORIZED", "Invalid login details" + EXPIRY, Reason.AUTH),
    ),
    Answer(
        "text-never-decides",
        service_exception("BAD_REQUEST", "Invalid login details"),
        status=400,
        failure=failed(400, "BAD_REQUEST", "Invalid login details", Reason.CLIENT_ERROR),
    ),
    Answer(
        "message-id-without-text",
        service_exception("FORBIDDEN"),
        status=403,
        failure=Failure(Reason.AUTH, "HTTP 403, infobip code FORBIDDEN" + SCOPE),
    ),
    # The newer Infobip error shape, not documented for this call: read all the same.
    Answer(
        "newer-error-shape",
        {
            "errorCode": "E401",
            "description": "Invalid login details",
            "action": "Check the API key",
            "violations": [],
            "resources": [],
        },
        status=401,
        failure=failed(401, "E401", "Invalid login details", Reason.AUTH),
    ),
    # Without Accept: application/json Infobip may answer XML: the status alone is read.
    Answer(
        "xml-error",
        XML_401,
        status=401,
        content_type="application/xml",
        failure=Failure(Reason.AUTH, "HTTP 401", code=None),
    ),
    Answer(
        "xml-success",
        "<AccountBalance><balance>47.79</balance><currency>EUR</currency></AccountBalance>",
        content_type="application/xml",
        failure=Failure(Reason.INVALID_RESPONSE, contains=("not JSON",)),
    ),
    *(
        Answer(
            f"error-body-without-an-error-{index}",
            body,
            status=403,
            failure=Failure(Reason.AUTH, "HTTP 403"),
        )
        for index, body in enumerate(
            [
                {},
                {"requestError": []},
                {"requestError": {}},
                {"requestError": {"serviceException": "FORBIDDEN"}},
                {"requestError": {"serviceException": {}}},
                {"requestError": {"serviceException": {"messageId": None, "text": []}}},
            ]
        )
    ),
    # A key echoed where a figure, a text or a code belongs never shows in the failure.
    Answer(
        "key-echoed-as-currency",
        {"balance": 1, "currency": API_KEY},
        failure=Failure(Reason.INVALID_RESPONSE, contains=("currency",)),
    ),
    Answer(
        "key-echoed-as-text",
        service_exception("UNAUTHORIZED", f"Invalid login details for App {API_KEY}"),
        status=401,
        failure=Failure(Reason.AUTH, code="UNAUTHORIZED", contains=("Invalid login details",)),
    ),
    Answer(
        "key-echoed-as-message-id",
        service_exception(API_KEY, "Forbidden"),
        status=403,
        failure=Failure(Reason.AUTH, contains=("Forbidden",)),
    ),
]


def sim_fault(fault: str, retry_after: str = "30") -> SimAccount:
    return replace(APIS[""].sim_account, fault=fault, retry_after=retry_after)


SIM_401 = service_exception("UNAUTHORIZED", "Invalid login details")
SIM_403 = service_exception("FORBIDDEN", "Forbidden")
SIM_429 = service_exception("TOO_MANY_REQUESTS", "Too many requests")
SIM_5XX = service_exception("GENERAL_ERROR", "Something went wrong. Please contact support.")

SIM_ANSWERS = [
    # The JSON text itself: the balance a number with every decimal it has.
    SimAnswer(
        "healthy",
        APIS[""].sim_account,
        200,
        '{"balance": 47.79134, "currency": "EUR"}',
        served=True,
    ),
    SimAnswer(
        "other-currency-below-zero",
        SimAccount(PROVIDER, SIM_KEY, balance=Decimal("-3.50"), currency="USD"),
        200,
        '{"balance": -3.50, "currency": "USD"}',
        served=True,
    ),
    SimAnswer(
        "wrong-key", APIS[""].sim_account, 401, SIM_401, request=(PATH, {"Authorization": "App x"})
    ),
    SimAnswer(
        "bearer-instead-of-app",
        APIS[""].sim_account,
        401,
        SIM_401,
        request=(PATH, {"Authorization": f"Bearer {SIM_KEY}"}),
    ),
    SimAnswer(
        "key-without-scheme",
        APIS[""].sim_account,
        401,
        SIM_401,
        request=(PATH, {"Authorization": SIM_KEY}),
    ),
    SimAnswer("no-authorization", APIS[""].sim_account, 401, SIM_401, request=(PATH, {})),
    # The account's own key, refused: expired, or created without the scope.
    SimAnswer("expired-key", replace(APIS[""].sim_account, state="expired-key"), 401, SIM_401),
    SimAnswer("missing-scope", replace(APIS[""].sim_account, state="missing-scope"), 403, SIM_403),
    # Faults, in Infobip's shapes.
    SimAnswer("401", sim_fault("401"), 401, SIM_401),
    SimAnswer("403", sim_fault("403"), 403, SIM_403),
    SimAnswer("500", sim_fault("500"), 500, SIM_5XX, absent=("Retry-After",)),
    SimAnswer(
        "503-retry-after",
        sim_fault("503-retry-after", retry_after="120"),
        503,
        SIM_5XX,
        headers={"Retry-After": "120"},
    ),
    SimAnswer(
        "429-seconds",
        sim_fault("429-seconds", retry_after="37"),
        429,
        SIM_429,
        headers={"Retry-After": "37"},
    ),
    SimAnswer("429-bare", sim_fault("429-bare"), 429, SIM_429, absent=("Retry-After",)),
    *(
        SimAnswer(fault, sim_fault(fault), 200, {"balance": value, "currency": "EUR"})
        for fault, value in (("nan", "NaN"), ("infinity", "Infinity"), ("thousands", "1,000.00"))
    ),
]


test_answer, test_simulator_answer = table_tests(PROVIDER, APIS, ANSWERS, SIM_ANSWERS)


# --- what does not fit a row --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "url"),
    [
        (HOST, HOST + PATH),
        ("https://y8kq3z.api.infobip.com/", HOST + PATH),
        # The path of a base_url is kept (a proxy, a simulator).
        ("http://127.0.0.1:8080/infobip", "http://127.0.0.1:8080/infobip" + PATH),
    ],
    ids=["personal-host", "trailing-slash", "base-url-path-kept"],
)
async def test_request_sent(
    base_url: str, url: str, http: Any, session: aiohttp.ClientSession
) -> None:
    adapter_ = provider_for(PROVIDER, APIS[""], base_url=base_url)
    mock_answer(http, url, {"balance": 47.79134, "currency": "EUR"})

    assert await read(adapter_, session) == Reading(currency="EUR", balance=Decimal("47.79134"))
    sent_url, headers = only_request(http)
    assert sent_url == url
    assert headers["Authorization"] == f"App {API_KEY}"
    assert headers["Accept"] == "application/json"


def test_base_url_is_required() -> None:
    # No shared host to fall back on: a config problem at load, not a failure at each poll.
    keys = {"name": "x", "provider": PROVIDER, "api_key": API_KEY}
    text = "accounts:\n  - " + "\n    ".join(f"{k}: {json.dumps(v)}" for k, v in keys.items())
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "<case>", environ={})
    assert caught.value.problems == [
        "<case>: accounts[0] 'x': base_url: is required: every Infobip account has its own"
        " API host, https://<id>.api.infobip.com, shown in the web portal"
    ]
