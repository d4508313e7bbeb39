"""46elks' case table: its API for the registry-wide suites, its answers, its simulator.

The balance is an integer in 1/10,000 of the currency; errors are plain text (or, as some
clients report, ``{"error": "…"}``) with the meaning in the status.
"""

from __future__ import annotations

import re
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
from balance_exporter.simulator.providers.elks46 import username_for

PROVIDER = "46elks"
USERNAME = "u5a9566c072160b318445d163949bf505"  # the documented example id
SIM_KEY = "46elks-canary-Qm47"
SIM_USER = username_for(SIM_KEY)
PATH = "/a1/me"
TEXT = "text/plain; charset=utf-8"
UNABLE = "Unable to get account."  # the documented error text for GET /me
UNIT = "expected an integer in 1/10,000 of the currency"
PLAIN = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def units(value: Any) -> Any:
    """A plain decimal as 46elks counts it (1/10,000); anything else sent as it is."""
    if isinstance(value, str) and PLAIN.fullmatch(value):
        return int(Decimal(value).scaleb(4))
    return value


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": encode_basic_auth(user, password)}


APIS = {
    "": Api(
        config={"username": USERNAME, "password": API_KEY},
        url=f"https://api.46elks.com{PATH}",
        headers=basic(USERNAME, API_KEY),
        success=lambda value: {"id": USERNAME, "currency": "SEK", "balance": units(value)},
        error=lambda text: {"error": text},
        sim_account=SimAccount(PROVIDER, SIM_KEY, balance=Decimal("967.05"), currency="SEK"),
        sim_request=(PATH, basic(SIM_USER, SIM_KEY)),
    )
}

DOCUMENTED = {
    "id": USERNAME,
    "displayname": "Your name or company",
    "mobilenumber": "+46766861647",
    "email": "help@46elks.com",
    "currency": "SEK",
    "balance": 9670500,
    "creditalert": 200000,
}


def sek(value: str) -> Reading:
    return Reading(currency="SEK", balance=Decimal(value), provider_account_id=USERNAME)


def text_answer(id_: str, status: int, text: str | bytes, reason: Reason, message: str) -> Answer:
    """A plain-text error answer, as 46elks sends them."""
    return Answer(
        id_, text, status=status, content_type=TEXT, failure=Failure(reason, message, status=status)
    )


ANSWERS = [
    Answer("documented-example", DOCUMENTED, reading=sek("967.05")),
    # The Swagger's example: a trial account, no creditalert.
    Answer(
        "trial-account",
        {
            "mobilenumber": "+46766861647",
            "displayname": "Your name or company",
            "id": USERNAME,
            "currency": "SEK",
            "trialactivated": "2013-06-20T18:44:27.434000",
            "balance": 9670500,
            "email": "help@46elks.com",
        },
        reading=sek("967.05"),
    ),
    # 1/10,000 is the finest figure: every digit is kept, exactly.
    Answer(
        "eur-four-decimals",
        {**DOCUMENTED, "currency": "EUR", "balance": 123456},
        reading=Reading(currency="EUR", balance=Decimal("12.3456"), provider_account_id=USERNAME),
    ),
    Answer("one-unit", {**DOCUMENTED, "balance": 1}, reading=sek("0.0001")),
    Answer("zero", {**DOCUMENTED, "balance": 0}, reading=sek("0")),
    Answer("negative", {**DOCUMENTED, "balance": -125000}, reading=sek("-12.5")),
    # Beyond what a float holds exactly (2**53 + 1 units): a float would say ...474.0992.
    Answer(
        "exact-beyond-float",
        {**DOCUMENTED, "balance": 9007199254740993},
        reading=sek("900719925474.0993"),
    ),
    Answer(
        "lower-case-currency",
        {**DOCUMENTED, "currency": "eur"},
        reading=Reading(currency="EUR", balance=Decimal("967.05"), provider_account_id=USERNAME),
    ),
    Answer(
        "without-id",
        {"currency": "SEK", "balance": 9670500},
        reading=Reading(currency="SEK", balance=Decimal("967.05")),
    ),
    # Not a count of 1/10,000: refused rather than guessed at (a string, a fraction, a float).
    Answer(
        "balance-as-a-string",
        {**DOCUMENTED, "balance": "9670500"},
        failure=Failure(Reason.INVALID_RESPONSE, f"balance is a string, {UNIT}"),
    ),
    Answer(
        "balance-with-a-fraction",
        '{"currency": "SEK", "balance": 967.05}',
        failure=Failure(Reason.INVALID_RESPONSE, f"balance is a decimal number, {UNIT}"),
    ),
    Answer(
        "balance-as-a-float-of-units",
        '{"currency": "SEK", "balance": 9670500.0}',
        failure=Failure(Reason.INVALID_RESPONSE, f"balance is a decimal number, {UNIT}"),
    ),
    Answer(
        "balance-null",
        {**DOCUMENTED, "balance": None},
        failure=Failure(Reason.INVALID_RESPONSE, f"balance is null, {UNIT}"),
    ),
    Answer(
        "balance-boolean",
        {**DOCUMENTED, "balance": True},
        failure=Failure(Reason.INVALID_RESPONSE, f"balance is a boolean, {UNIT}"),
    ),
    Answer(
        "no-balance-field",
        {"id": USERNAME, "currency": "SEK"},
        failure=Failure(Reason.INVALID_RESPONSE, "response has no balance field"),
    ),
    Answer(
        "implausible-balance",
        {**DOCUMENTED, "balance": 10**20},
        failure=Failure(Reason.INVALID_RESPONSE, "balance is not a plausible amount"),
    ),
    Answer(
        "no-currency",
        {"id": USERNAME, "balance": 9670500},
        failure=Failure(Reason.INVALID_RESPONSE, "response has no currency"),
    ),
    Answer(
        "currency-not-a-code",
        {**DOCUMENTED, "currency": "kr"},
        failure=Failure(Reason.INVALID_RESPONSE, "response.currency is not a currency code: 'KR'"),
    ),
    Answer(
        "id-not-a-string",
        {**DOCUMENTED, "id": 7},
        failure=Failure(Reason.INVALID_RESPONSE, "response.id is a number, expected a string"),
    ),
    # Plain-text errors: the text is the message, the status the reason.
    text_answer("401-plain-text", 401, UNABLE, Reason.AUTH, f"HTTP 401: {UNABLE}"),
    text_answer(
        "403-plain-text", 403, "Not enough credit.", Reason.AUTH, "HTTP 403: Not enough credit."
    ),
    text_answer(
        "400-plain-text", 400, "Bad request.", Reason.CLIENT_ERROR, "HTTP 400: Bad request."
    ),
    text_answer("404-plain-text", 404, "Not found.", Reason.CLIENT_ERROR, "HTTP 404: Not found."),
    text_answer("500-plain-text", 500, UNABLE, Reason.SERVER_ERROR, f"HTTP 500: {UNABLE}"),
    text_answer("503-plain-text", 503, "Try again.\n", Reason.SERVER_ERROR, "HTTP 503: Try again."),
    # No rate limit is documented for /me: a 429 is read like any provider's.
    Answer(
        "429-plain-text-with-retry-after",
        "Too many requests.",
        status=429,
        headers={"Retry-After": "30"},
        content_type=TEXT,
        failure=Failure(Reason.RATE_LIMITED, "HTTP 429: Too many requests.", retry_after=30.0),
    ),
    Answer(
        "429-plain-text-asks-no-wait",
        "Too many requests.",
        status=429,
        content_type=TEXT,
        failure=Failure(Reason.RATE_LIMITED, retry_after=NO_WAIT),
    ),
    # Kept to one short line, whatever it holds.
    text_answer(
        "multi-line-text",
        401,
        "Unable to get account.\r\n\tWrong credentials.\n",
        Reason.AUTH,
        "HTTP 401: Unable to get account. Wrong credentials.",
    ),
    text_answer(
        "long-text-is-cut",
        400,
        "x" * 500,
        Reason.CLIENT_ERROR,
        "HTTP 400: " + "x" * 199 + "…",
    ),
    text_answer(
        "text-not-utf8",
        401,
        b"Ogiltig beh\xf6righet",
        Reason.AUTH,
        "HTTP 401: Ogiltig beh\ufffdrighet",
    ),
    text_answer(
        "control-characters",
        401,
        "Unable\x1b[31m to get\x00 account.",
        Reason.AUTH,
        "HTTP 401: Unable [31m to get account.",
    ),
    text_answer("empty-text", 401, "", Reason.AUTH, "HTTP 401"),
    # JSON errors, as some clients report them; a JSON body under text/plain is read as JSON.
    Answer(
        "401-json-error",
        {"error": "Invalid credentials"},
        status=401,
        failure=Failure(Reason.AUTH, "HTTP 401: Invalid credentials"),
    ),
    text_answer(
        "json-error-as-text-plain",
        401,
        '{"error": "Invalid credentials"}',
        Reason.AUTH,
        "HTTP 401: Invalid credentials",
    ),
    Answer(
        "json-error-without-error",
        {"message": "Invalid credentials"},
        status=401,
        failure=Failure(Reason.AUTH, "HTTP 401"),
    ),
    Answer(
        "json-error-not-a-string",
        {"error": {"code": 1}},
        status=500,
        failure=Failure(Reason.SERVER_ERROR, "HTTP 500"),
    ),
    # An HTML page (a proxy's) says nothing more than its status.
    Answer(
        "502-html",
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
        status=502,
        content_type="text/html",
        failure=Failure(Reason.SERVER_ERROR, "HTTP 502"),
    ),
    # Echoed credentials never show: the password whole, or the Authorization header quoted.
    Answer(
        "password-echoed-in-text",
        f"Wrong password {API_KEY} for {USERNAME}",
        status=401,
        content_type=TEXT,
        failure=Failure(Reason.AUTH, f"HTTP 401: Wrong password ******** for {USERNAME}"),
    ),
    Answer(
        "authorization-echoed-in-text",
        f"Refused: {basic(USERNAME, API_KEY)['Authorization']}",
        status=401,
        content_type=TEXT,
        failure=Failure(Reason.AUTH, "HTTP 401: Refused: Basic ********"),
    ),
    Answer(
        "password-echoed-as-currency",
        {**DOCUMENTED, "currency": API_KEY},
        failure=Failure(Reason.INVALID_RESPONSE, contains=("currency",)),
    ),
]

HEALTHY = {
    "id": SIM_USER,
    "displayname": "Simulated account",
    "mobilenumber": "+46700000000",
    "email": "billing@example.com",
    "currency": "SEK",
    "balance": 9670500,
    "creditalert": 200000,
}
PLAIN_TEXT = {"Content-Type": TEXT}


def sim_fault(fault: str, retry_after: str = "30") -> SimAccount:
    return replace(APIS[""].sim_account, fault=fault, retry_after=retry_after)


def refused(id_: str, request: tuple[str, dict[str, str]]) -> SimAnswer:
    return SimAnswer(id_, APIS[""].sim_account, 401, UNABLE, PLAIN_TEXT, request=request)


SIM_ANSWERS = [
    SimAnswer("healthy", APIS[""].sim_account, 200, HEALTHY, served=True),
    SimAnswer(
        "path-as-in-46elks-examples",
        APIS[""].sim_account,
        200,
        HEALTHY,
        request=("/a1/Me", basic(SIM_USER, SIM_KEY)),
        served=True,
    ),
    SimAnswer(
        "eur-four-decimals",
        replace(APIS[""].sim_account, currency="EUR", balance=Decimal("12.3456")),
        200,
        {**HEALTHY, "currency": "EUR", "balance": 123456},
        served=True,
    ),
    SimAnswer(
        "negative",
        replace(APIS[""].sim_account, balance=Decimal("-12.5")),
        200,
        {**HEALTHY, "balance": -125000},
        served=True,
    ),
    # Wrong credentials, or the right ones presented otherwise: plain text, the meaning in 401.
    refused("wrong-password", (PATH, basic(SIM_USER, "wrong-password"))),
    refused("wrong-username", (PATH, basic(username_for("another"), SIM_KEY))),
    refused("bearer-instead-of-basic", (PATH, {"Authorization": f"Bearer {SIM_KEY}"})),
    refused("no-authorization", (PATH, {})),
    # Faults, in 46elks' shape: the documented text, text/plain.
    SimAnswer("401", sim_fault("401"), 401, UNABLE, PLAIN_TEXT),
    SimAnswer("403", sim_fault("403"), 403, UNABLE, PLAIN_TEXT),
    SimAnswer("500", sim_fault("500"), 500, UNABLE, PLAIN_TEXT, absent=("Retry-After",)),
    SimAnswer(
        "503-retry-after",
        sim_fault("503-retry-after", retry_after="120"),
        503,
        UNABLE,
        {**PLAIN_TEXT, "Retry-After": "120"},
    ),
    SimAnswer(
        "429-seconds",
        sim_fault("429-seconds", retry_after="37"),
        429,
        UNABLE,
        {**PLAIN_TEXT, "Retry-After": "37"},
    ),
    SimAnswer("429-bare", sim_fault("429-bare"), 429, UNABLE, PLAIN_TEXT, absent=("Retry-After",)),
    *(
        SimAnswer(
            fault,
            sim_fault(fault),
            200,
            {"id": username_for("with-amount"), "currency": "SEK", "balance": value},
        )
        for fault, value in (("nan", "NaN"), ("infinity", "Infinity"), ("thousands", "1,000.00"))
    ),
]


test_answer, test_simulator_answer = table_tests(PROVIDER, APIS, ANSWERS, SIM_ANSWERS)
