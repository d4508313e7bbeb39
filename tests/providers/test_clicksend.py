"""ClickSend's case table: its API for the registry-wide suites, its answers, its simulator.

One API. Its quirks: a non-SUCCESS ``response_code`` fails even on HTTP 200, and the success
body carries an API key (``data._subaccount.api_key``), possibly another account's, which no
reading and no failure message may show.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from aiohttp import encode_basic_auth
from provider_kit import (
    API_KEY,
    NO_WAIT,
    Answer,
    Api,
    Failure,
    SimAnswer,
    table_tests,
)

from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import Reason
from balance_exporter.simulator import SimAccount
from balance_exporter.simulator.providers.clicksend import user_id, username_for

PROVIDER = "clicksend"
USERNAME = "johndoe1"
PATH = "/v3/account"
URL = f"https://rest.clicksend.com{PATH}"
SIM_KEY = "clicksend-canary-Qm47"
SIM_USER = username_for(SIM_KEY)
SIM_ID = user_id(SIM_KEY)
# Another account's key (ClickSend's published test key) and a short one, as the docs' own
# auth example has it: neither is a secret of the account polled, so the shared redaction
# does not know them; the adapter must keep them out by itself.
OTHER_KEY = "D83DED51-9E35-4D42-9BB9-0E34B7CA85AE"
SHORT_KEY = "ABCD-1234"
MASK = "********"
# Written out rather than imported, so that a changed text fails here.
SUCCESS_MSG = "Here's your account."
UNAUTHORIZED_MSG = "Authentication credentials were missing or incorrect."
FORBIDDEN_MSG = "The request is understood, but it has been refused or access is not allowed."
TOO_MANY_MSG = (
    "Rate Limit Exceeded. Returned when a request cannot be served due to the application's"
    " rate limit having been exhausted for the resource. See Rate Limiting."
)


def envelope(status: int, code: str, message: str, **more: Any) -> dict[str, Any]:
    return {"http_code": status, "response_code": code, "response_msg": message, **more}


def success(data: dict[str, Any]) -> dict[str, Any]:
    return envelope(200, "SUCCESS", SUCCESS_MSG, data=data)


def account(balance: Any, short: Any = "AUD", **more: Any) -> dict[str, Any]:
    """A success body with ``balance`` in ``short`` and only the fields a reading needs."""
    return success({"balance": balance, "_currency": {"currency_name_short": short}, **more})


APIS = {
    "": Api(
        config={"username": USERNAME, "api_key": API_KEY},
        url=URL,
        headers={
            "Authorization": encode_basic_auth(USERNAME, API_KEY),
            "Accept": "application/json",
        },
        success=lambda value: account(value),
        # SOMETHING_IS_WRONG is the generic code: the status decides.
        error=lambda text: envelope(400, "SOMETHING_IS_WRONG", text),
        sim_account=SimAccount(PROVIDER, SIM_KEY, balance=Decimal("25.148"), currency="AUD"),
        sim_request=(PATH, {"Authorization": encode_basic_auth(SIM_USER, SIM_KEY)}),
    )
}


def failed(status: int, code: str, text: str, reason: Reason) -> Failure:
    return Failure(
        reason, f"HTTP {status}, clicksend code {code}: {text}", code=code, status=status
    )


def nested(depth: int, inner: dict[str, Any]) -> dict[str, Any]:
    for _ in range(depth):
        inner = {"more": inner}
    return inner


def invalid(message: str) -> Failure:
    return Failure(Reason.INVALID_RESPONSE, message)


# The documentation's example, whole: its _subaccount holds the key itself.
DOCUMENTED = success(
    {
        "user_id": 116,
        "username": "johndoe1",
        "active": 1,
        "banned": 0,
        "balance": "4.998000",
        "balance_commission": "0.299954",
        "auto_recharge": 0,
        "auto_recharge_amount": "20.00",
        "low_credit_amount": "0.00",
        "_currency": {
            "currency_name_short": "USD",
            "currency_prefix_d": "$",
            "currency_prefix_c": "¢",
            "currency_name_long": "US Dollars",
        },
        "_subaccount": {
            "subaccount_id": 126,
            "api_username": "johndoe1",
            "api_key": API_KEY,
            "access_billing": 1,
        },
    }
)

# Application codes on an HTTP 200, each with its nearest reason:
# (code, response_msg, reason). The codes of the status table go with their status's reason.
HTTP_200_FAILURES = [
    ("UNAUTHORIZED", UNAUTHORIZED_MSG, Reason.AUTH),
    ("FORBIDDEN", FORBIDDEN_MSG, Reason.AUTH),
    ("INVALID_CREDENTIALS", "Your Username or Unique Key is incorrect.", Reason.AUTH),
    (
        "MISSING_CREDENTIALS",
        "Not enough information has been supplied for authentication.",
        Reason.AUTH,
    ),
    ("ACCOUNT_NOT_ACTIVATED", "Your account has not been activated.", Reason.AUTH),
    (
        "INSUFFICIENT_CREDIT",
        "You have reached the end of your message credits.",
        Reason.CLIENT_ERROR,
    ),
    ("TOO_MANY_REQUESTS", TOO_MANY_MSG, Reason.RATE_LIMITED),
    ("INTERNAL_SERVER_ERROR", "Something is broken", Reason.SERVER_ERROR),
    ("INTERNAL_ERROR", "Internal error.", Reason.SERVER_ERROR),
    ("BAD_REQUEST", "The request was invalid.", Reason.CLIENT_ERROR),
    ("NOT_FOUND", "The URI requested is invalid.", Reason.CLIENT_ERROR),
    ("METHOD_NOT_FOUND", "Method doesn't exist or is not allowed.", Reason.CLIENT_ERROR),
    # Generic or unknown: the status decides, and a 200 is no auth, rate or server answer.
    ("SOMETHING_IS_WRONG", "Generic Error happened.", Reason.CLIENT_ERROR),
    ("NEVER_SEEN_BEFORE", "Something new.", Reason.CLIENT_ERROR),
    # Only SUCCESS is success, in that case.
    ("success", "Here's your account.", Reason.CLIENT_ERROR),
]

# The documented status table, and codes that decide over the status: (status, code, reason).
ERRORS = [
    (400, "BAD_REQUEST", Reason.CLIENT_ERROR),
    (401, "UNAUTHORIZED", Reason.AUTH),
    (403, "FORBIDDEN", Reason.AUTH),
    (404, "NOT_FOUND", Reason.CLIENT_ERROR),
    (405, "NOT_FOUND", Reason.CLIENT_ERROR),
    (405, "METHOD_NOT_FOUND", Reason.CLIENT_ERROR),
    (500, "INTERNAL_SERVER_ERROR", Reason.SERVER_ERROR),
    (400, "INVALID_CREDENTIALS", Reason.AUTH),
    (400, "TOO_MANY_REQUESTS", Reason.RATE_LIMITED),
    (503, "SOMETHING_IS_WRONG", Reason.SERVER_ERROR),
    (401, "SOMETHING_IS_WRONG", Reason.AUTH),
]

ANSWERS = [
    # The docs' example, its key included: the reading holds balance and currency, no more.
    Answer(
        "documented-example",
        DOCUMENTED,
        reading=Reading(currency="USD", balance=Decimal("4.998000")),
    ),
    Answer(
        "issue-example",
        '{"http_code":200,"response_code":"SUCCESS","response_msg":"Here\'s your account.",'
        '"data":{"balance":"25.1480","_currency":{"currency_name_short":"AUD"}}}',
        reading=Reading(currency="AUD", balance=Decimal("25.1480")),
    ),
    # Another account's key in _subaccount: read past, never part of the reading.
    Answer(
        "subaccount-with-another-key",
        account(
            "7.500000",
            "NZD",
            _subaccount={
                "subaccount_id": 9,
                "api_username": "child",
                "api_key": OTHER_KEY,
                "access_billing": 1,
            },
        ),
        reading=Reading(currency="NZD", balance=Decimal("7.500000")),
    ),
    Answer(
        "subaccount-null",
        account("1.000000", "EUR", _subaccount=None),
        reading=Reading(currency="EUR", balance=Decimal("1.000000")),
    ),
    Answer(
        "zero-balance",
        account("0.000000"),
        reading=Reading(currency="AUD", balance=Decimal("0.000000")),
    ),
    Answer(
        "negative-balance",
        account("-1.250000"),
        reading=Reading(currency="AUD", balance=Decimal("-1.250000")),
    ),
    # A JSON number says the same (the examples differ for balance_commission).
    Answer(
        "balance-as-a-json-number",
        '{"response_code": "SUCCESS", "data": {"balance": 4.998,'
        ' "_currency": {"currency_name_short": "USD"}}}',
        reading=Reading(currency="USD", balance=Decimal("4.998")),
    ),
    Answer(
        "currency-in-lower-case",
        account("2.000000", "aud"),
        reading=Reading(currency="AUD", balance=Decimal("2.000000")),
    ),
    # banned, active and the commission are not the balance: they change nothing.
    Answer(
        "commission-is-not-the-balance",
        account("3.000000", balance_commission=99.5, banned=1, active=0),
        reading=Reading(currency="AUD", balance=Decimal("3.000000")),
    ),
    # HTTP 200 with another response_code: a failure, its code deciding.
    *(
        Answer(
            f"200-{code.lower()}",
            envelope(200, code, message),
            failure=failed(200, code, message, reason),
        )
        for code, message, reason in HTTP_200_FAILURES
    ),
    # A balance beside a failing code is never read.
    Answer(
        "200-failure-with-a-balance",
        envelope(
            200,
            "ACCOUNT_NOT_ACTIVATED",
            "Your account has not been activated.",
            data={"balance": "5.000000", "_currency": {"currency_name_short": "AUD"}},
        ),
        failure=failed(
            200, "ACCOUNT_NOT_ACTIVATED", "Your account has not been activated.", Reason.AUTH
        ),
    ),
    Answer(
        "200-failure-without-a-message",
        {"http_code": 200, "response_code": "FORBIDDEN"},
        failure=Failure(Reason.AUTH, "HTTP 200, clicksend code FORBIDDEN", code="FORBIDDEN"),
    ),
    *(
        Answer(
            f"{status}-{code.lower()}",
            envelope(status, code, f"{code} said"),
            status=status,
            failure=failed(status, code, f"{code} said", reason),
        )
        for status, code, reason in ERRORS
    ),
    # Its 429 documents no wait header: none asked for, unless Retry-After comes.
    Answer(
        "429-without-a-wait",
        envelope(429, "TOO_MANY_REQUESTS", TOO_MANY_MSG),
        status=429,
        failure=replace(
            failed(429, "TOO_MANY_REQUESTS", TOO_MANY_MSG, Reason.RATE_LIMITED),
            retry_after=NO_WAIT,
        ),
    ),
    Answer(
        "429-with-retry-after",
        envelope(429, "TOO_MANY_REQUESTS", TOO_MANY_MSG),
        status=429,
        headers={"Retry-After": "12"},
        failure=Failure(Reason.RATE_LIMITED, retry_after=12.0),
    ),
    Answer(
        "502-html",
        "<html><body>Bad gateway</body></html>",
        status=502,
        content_type="text/html",
        failure=Failure(Reason.SERVER_ERROR, "HTTP 502"),
    ),
    # Wrong shapes: the envelope's code, data, the balance and the currency are required.
    Answer(
        "no-response-code",
        {"data": {"balance": "1.000000", "_currency": {"currency_name_short": "AUD"}}},
        failure=invalid("response has no response_code"),
    ),
    Answer(
        "no-data",
        envelope(200, "SUCCESS", SUCCESS_MSG),
        failure=invalid("data is null, expected an object"),
    ),
    Answer(
        "data-a-list",
        envelope(200, "SUCCESS", SUCCESS_MSG, data=[]),
        failure=invalid("data is a list, expected an object"),
    ),
    Answer(
        "no-balance",
        success({"_currency": {"currency_name_short": "AUD"}}),
        failure=invalid("data.balance is null, not an amount"),
    ),
    Answer(
        "no-currency",
        success({"balance": "1.000000"}),
        failure=invalid("data._currency is null, expected an object"),
    ),
    Answer(
        "currency-without-short-name",
        success({"balance": "1.000000", "_currency": {"currency_name_long": "US Dollars"}}),
        failure=invalid("data._currency has no currency_name_short"),
    ),
    Answer(
        "currency-a-symbol",
        account("1.000000", "$"),
        failure=invalid("data._currency.currency_name_short is not a currency code: '$'"),
    ),
    # --- keys in bodies: the account's own, and others the shared redaction cannot know ---
    # An HTTP 200 failure that quotes both keys, another in its data: none of it shows.
    Answer(
        "200-failure-echoing-keys",
        envelope(
            200,
            "INVALID_CREDENTIALS",
            f"Unique Key {API_KEY} or {OTHER_KEY} is incorrect.",
            data={"_subaccount": {"api_username": "child", "api_key": OTHER_KEY}},
        ),
        failure=failed(
            200, "INVALID_CREDENTIALS", f"Unique Key {MASK} or {MASK} is incorrect.", Reason.AUTH
        ),
    ),
    # A key too short to look like one goes too when the body names it a key.
    Answer(
        "200-failure-quoting-a-short-subaccount-key",
        envelope(
            200,
            "ACCOUNT_NOT_ACTIVATED",
            f"Key {SHORT_KEY} is not active.",
            data={"_subaccount": {"api_key": SHORT_KEY}},
        ),
        failure=failed(200, "ACCOUNT_NOT_ACTIVATED", f"Key {MASK} is not active.", Reason.AUTH),
    ),
    Answer(
        "401-quoting-a-key-named-nowhere-else",
        envelope(401, "UNAUTHORIZED", f"Unique Key {OTHER_KEY} is incorrect."),
        status=401,
        failure=failed(401, "UNAUTHORIZED", f"Unique Key {MASK} is incorrect.", Reason.AUTH),
    ),
    Answer(
        "403-quoting-a-key-in-a-secret-field",
        envelope(403, "FORBIDDEN", f"{SHORT_KEY} may not", errors={"secret": SHORT_KEY}),
        status=403,
        failure=failed(403, "FORBIDDEN", f"{MASK} may not", Reason.AUTH),
    ),
    # Ordinary words, figures and links are left as they are.
    Answer(
        "401-prose-is-kept",
        envelope(401, "UNAUTHORIZED", "Try again at 10:15 or see https://x.example/docs/v3 ok"),
        status=401,
        failure=failed(
            401,
            "UNAUTHORIZED",
            "Try again at 10:15 or see https://x.example/docs/v3 ok",
            Reason.AUTH,
        ),
    ),
    # A text is scrubbed up to 1000 characters; the word cut there goes too, lest it be the
    # start of a key that masks before it would bring into the 200 characters kept.
    Answer(
        "long-text-cut-inside-a-key",
        envelope(401, "UNAUTHORIZED", "a1" * 495 + " " + OTHER_KEY),
        status=401,
        failure=failed(401, "UNAUTHORIZED", MASK, Reason.AUTH),
    ),
    # Bodies whose credentials scrub() could not clear for certain: their text is not quoted.
    *(
        Answer(
            f"200-failure-with-{name}",
            envelope(200, "INVALID_CREDENTIALS", "Key is incorrect.", data=data),
            failure=failed(200, "INVALID_CREDENTIALS", MASK, Reason.AUTH),
        )
        for name, data in [
            ("too-many-credentials", {"_subaccount": {f"k{i}": f"key-{i:04}" for i in range(17)}}),
            ("a-credential-too-long", {"_subaccount": {"api_key": "k" * 129}}),
            ("credentials-too-deep", nested(33, {"api_key": SHORT_KEY})),
        ]
    ),
    Answer(
        "invalid-success-with-too-many-credentials",
        account("NaN", _subaccount={f"k{i}": f"key-{i:04}" for i in range(17)}),
        failure=invalid(
            "the answer is not a valid balance (not quoted: its credentials are past clearing)"
        ),
    ),
    Answer(
        "another-key-as-the-balance",
        account(OTHER_KEY, _subaccount={"api_key": OTHER_KEY}),
        failure=invalid(f"data.balance is not a plain number: '{MASK}'"),
    ),
    Answer(
        "short-subaccount-key-as-the-currency",
        account("1.000000", SHORT_KEY.lower(), _subaccount={"api_key": SHORT_KEY}),
        failure=invalid(f"data._currency.currency_name_short is not a currency code: '{MASK}'"),
    ),
    Answer(
        "another-key-as-the-response-code",
        envelope(200, OTHER_KEY, "Error"),
        failure=Failure(Reason.CLIENT_ERROR, f"HTTP 200, clicksend code {MASK}: Error", code=MASK),
    ),
    Answer(
        "own-key-as-the-response-code",
        envelope(401, API_KEY, "Error"),
        status=401,
        failure=Failure(Reason.AUTH, code=MASK),
    ),
]

SIM_ACCOUNT = APIS[""].sim_account


def sim_data(
    balance: str,
    short: str = "AUD",
    symbols: tuple[str, str, str] = ("$", "¢", "Australian Dollars"),
) -> dict[str, Any]:
    """The simulated account's data, as the documentation's example has it."""
    return {
        "user_id": SIM_ID,
        "username": SIM_USER,
        "active": 1,
        "banned": 0,
        "balance": balance,
        "balance_commission": "0.000000",
        "auto_recharge": 0,
        "auto_recharge_amount": "20.00",
        "low_credit_amount": "0.00",
        "_currency": {
            "currency_name_short": short,
            "currency_prefix_d": symbols[0],
            "currency_prefix_c": symbols[1],
            "currency_name_long": symbols[2],
        },
        "_subaccount": {
            "subaccount_id": SIM_ID + 10,
            "api_username": SIM_USER,
            "api_key": SIM_KEY,
            "access_billing": 1,
        },
    }


SIM_UNAUTHORIZED = envelope(401, "UNAUTHORIZED", UNAUTHORIZED_MSG)

SIM_ANSWERS = [
    SimAnswer(
        "healthy",
        SIM_ACCOUNT,
        200,
        success(sim_data("25.148000")),
        headers={"Content-Type": "application/json; charset=utf-8"},
        served=True,
    ),
    SimAnswer(
        "us-dollars-as-documented",
        SimAccount(PROVIDER, SIM_KEY, balance=Decimal("4.998"), currency="USD"),
        200,
        success(sim_data("4.998000", "USD", ("$", "¢", "US Dollars"))),
        served=True,
    ),
    SimAnswer(
        "negative",
        SimAccount(PROVIDER, SIM_KEY, balance=Decimal("-12.5"), currency="AUD"),
        200,
        success(sim_data("-12.500000")),
        served=True,
    ),
    SimAnswer(
        "no-subaccount",
        SimAccount(PROVIDER, SIM_KEY, balance=Decimal("3"), currency="AUD", state="no-subaccount"),
        200,
        success({**sim_data("3.000000"), "_subaccount": None}),
        served=True,
    ),
    # The assumed HTTP 200 failure, as ClickSend's "notactive" test user.
    SimAnswer(
        "not-activated",
        SimAccount(PROVIDER, SIM_KEY, state="not-activated"),
        200,
        envelope(200, "ACCOUNT_NOT_ACTIVATED", "Your account has not been activated."),
    ),
    SimAnswer(
        "wrong-key",
        SIM_ACCOUNT,
        401,
        SIM_UNAUTHORIZED,
        request=(PATH, {"Authorization": encode_basic_auth(SIM_USER, "wrong")}),
    ),
    SimAnswer(
        "right-key-wrong-username",
        SIM_ACCOUNT,
        401,
        SIM_UNAUTHORIZED,
        request=(PATH, {"Authorization": encode_basic_auth("johndoe1", SIM_KEY)}),
    ),
    SimAnswer(
        "right-key-as-bearer",
        SIM_ACCOUNT,
        401,
        SIM_UNAUTHORIZED,
        request=(PATH, {"Authorization": f"Bearer {SIM_KEY}"}),
    ),
    SimAnswer("no-credentials", SIM_ACCOUNT, 401, SIM_UNAUTHORIZED, request=(PATH, {})),
    SimAnswer("401", SimAccount(PROVIDER, SIM_KEY, fault="401"), 401, SIM_UNAUTHORIZED),
    SimAnswer(
        "403",
        SimAccount(PROVIDER, SIM_KEY, fault="403"),
        403,
        envelope(403, "FORBIDDEN", FORBIDDEN_MSG),
    ),
    SimAnswer(
        "500",
        SimAccount(PROVIDER, SIM_KEY, fault="500"),
        500,
        envelope(500, "INTERNAL_SERVER_ERROR", "Something is broken"),
        absent=("Retry-After",),
    ),
    SimAnswer(
        "503-retry-after",
        SimAccount(PROVIDER, SIM_KEY, fault="503-retry-after"),
        503,
        envelope(503, "INTERNAL_SERVER_ERROR", "Something is broken"),
        headers={"Retry-After": "30"},
    ),
    SimAnswer(
        "429-seconds",
        SimAccount(PROVIDER, SIM_KEY, fault="429-seconds", retry_after="37"),
        429,
        envelope(429, "TOO_MANY_REQUESTS", TOO_MANY_MSG),
        headers={"Retry-After": "37"},
    ),
    SimAnswer(
        "429-date",
        SimAccount(PROVIDER, SIM_KEY, fault="429-date"),
        429,
        envelope(429, "TOO_MANY_REQUESTS", TOO_MANY_MSG),
        headers={"Retry-After": "Fri, 13 Feb 2026 16:27:10 GMT"},
    ),
    SimAnswer(
        "429-bare",
        SimAccount(PROVIDER, SIM_KEY, fault="429-bare"),
        429,
        envelope(429, "TOO_MANY_REQUESTS", TOO_MANY_MSG),
        absent=("Retry-After",),
    ),
    *(
        SimAnswer(
            fault,
            SimAccount(PROVIDER, SIM_KEY, fault=fault),
            200,
            success(
                {
                    "balance": value,
                    "_currency": {
                        "currency_name_short": "USD",
                        "currency_prefix_d": "$",
                        "currency_prefix_c": "¢",
                        "currency_name_long": "US Dollars",
                    },
                }
            ),
        )
        for fault, value in [("nan", "NaN"), ("infinity", "Infinity"), ("thousands", "1,000.00")]
    ),
]


test_answer, test_simulator_answer = table_tests(PROVIDER, APIS, ANSWERS, SIM_ANSWERS)
