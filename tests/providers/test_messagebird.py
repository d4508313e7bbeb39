"""MessageBird's case table: its API for the registry-wide suites, its answers, its simulator."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import aiohttp
from provider_kit import (
    API_KEY,
    NO_WAIT,
    Answer,
    Api,
    Failure,
    SimAnswer,
    fail,
    mock_answer,
    provider_for,
    table_tests,
)

from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import Reason
from balance_exporter.providers.messagebird import POSTPAID_NOTE
from balance_exporter.simulator import SimAccount

PROVIDER = "messagebird"
SIM_KEY = "messagebird-canary-Vb83"
PATH = "/balance"
URL = f"https://rest.messagebird.com{PATH}"
INCORRECT_KEY = "Request not allowed (incorrect access_key)"

APIS = {
    "": Api(
        config={"access_key": API_KEY},
        url=URL,
        headers={"Authorization": f"AccessKey {API_KEY}", "Accept": "application/json"},
        success=lambda value: {"payment": "prepaid", "type": "euros", "amount": value},
        error=lambda text: {"errors": [{"code": 21, "description": text, "parameter": None}]},
        sim_account=SimAccount(PROVIDER, SIM_KEY, balance=Decimal("103"), currency="EUR"),
        sim_request=(PATH, {"Authorization": f"AccessKey {SIM_KEY}", "Accept": "application/json"}),
    )
}


def errors(code: Any, description: str, parameter: str | None = None) -> dict[str, Any]:
    return {"errors": [{"code": code, "description": description, "parameter": parameter}]}


def balance(type_: Any, amount: Any, payment: Any = "prepaid") -> dict[str, Any]:
    return {"payment": payment, "type": type_, "amount": amount}


def failed(status: int, code: str, text: str, reason: Reason) -> Failure:
    return Failure(reason, f"HTTP {status}, messagebird code {code}: {text}", code=code)


def invalid(message: str) -> Failure:
    return Failure(Reason.INVALID_RESPONSE, message)


REAL_401 = errors(2, INCORRECT_KEY, "access_key")

ANSWERS = [
    # The docs' example: an integer literal, in euros.
    Answer(
        "euros-integer",
        balance("euros", 103),
        reading=Reading(currency="EUR", balance=Decimal("103")),
    ),
    # The Python SDK's test: a float, read exactly from the JSON text.
    Answer(
        "credits-float-is-exact",
        '{"payment": "prepaid", "type": "credits", "amount": 9.2}',
        reading=Reading(currency="credits", balance=Decimal("9.2")),
    ),
    Answer(
        "credits-integer",
        balance("credits", 9),
        reading=Reading(currency="credits", balance=Decimal("9")),
    ),
    Answer(
        "pounds",
        balance("pounds", 12.75),
        reading=Reading(currency="GBP", balance=Decimal("12.75")),
    ),
    Answer(
        "dollars",
        '{"payment": "prepaid", "type": "dollars", "amount": 100000000000000.01}',
        reading=Reading(currency="USD", balance=Decimal("100000000000000.01")),
    ),
    # Every other currency goes by its ISO code, unchanged.
    Answer(
        "iso-code", balance("CHF", 40.5), reading=Reading(currency="CHF", balance=Decimal("40.5"))
    ),
    # A prepaid zero is an empty wallet, and must alert.
    Answer(
        "prepaid-zero", balance("euros", 0), reading=Reading(currency="EUR", balance=Decimal(0))
    ),
    Answer(
        "prepaid-negative",
        balance("euros", -1.5),
        reading=Reading(currency="EUR", balance=Decimal("-1.5")),
    ),
    # Postpaid always says 0: no wallet, so no balance series at all.
    Answer(
        "postpaid",
        balance("euros", 0, "postpaid"),
        reading=Reading(currency="EUR", note=POSTPAID_NOTE),
    ),
    Answer(
        "postpaid-credits",
        balance("credits", 0, "postpaid"),
        reading=Reading(currency="credits", note=POSTPAID_NOTE),
    ),
    Answer(
        "postpaid-garbage-amount",
        balance("euros", "1,000", "postpaid"),
        failure=invalid("amount is not a plain number: '1,000'"),
    ),
    # An unknown unit fails the poll rather than guess a currency.
    *(
        Answer(f"unknown-type-{word}", balance(word, 1), failure=invalid(message))
        for word, message in (
            ("yen", "response.type is not a known unit: 'yen'"),
            ("Euros", "response.type is not a known unit: 'Euros'"),
            ("eur", "response.type is not a known unit: 'eur'"),
            ("EURO", "response.type is not a known unit: 'EURO'"),
            ("", "response.type is not a known unit: ''"),
        )
    ),
    Answer(
        "type-not-a-string",
        balance(978, 1),
        failure=invalid("response.type is a number, expected a unit word or an ISO code"),
    ),
    Answer(
        "no-type",
        {"payment": "prepaid", "amount": 1},
        failure=invalid("response has no type field"),
    ),
    Answer(
        "unknown-payment",
        balance("euros", 1, "trial"),
        failure=invalid("response.payment is 'trial', expected prepaid or postpaid"),
    ),
    Answer(
        "no-payment",
        {"type": "euros", "amount": 1},
        failure=invalid("response.payment is missing, expected prepaid or postpaid"),
    ),
    Answer(
        "no-amount",
        {"payment": "prepaid", "type": "euros"},
        failure=invalid("response has no amount field"),
    ),
    Answer("null-amount", balance("euros", None), failure=invalid("amount is null, not an amount")),
    # 401: code 2, also for a missing or malformed header.
    Answer("401", REAL_401, status=401, failure=failed(401, "2", INCORRECT_KEY, Reason.AUTH)),
    Answer(
        "404",
        errors(20, "balance not found"),
        status=404,
        failure=failed(404, "20", "balance not found", Reason.CLIENT_ERROR),
    ),
    Answer(
        "405",
        errors(21, "Bad request"),
        status=405,
        failure=failed(405, "21", "Bad request", Reason.CLIENT_ERROR),
    ),
    Answer(
        "422",
        errors(10, "Invalid params"),
        status=422,
        failure=failed(422, "10", "Invalid params", Reason.CLIENT_ERROR),
    ),
    # The status decides, not the code: code 2 on a 422 is a client error.
    Answer(
        "code-2-on-422",
        errors(2, "Request not allowed"),
        status=422,
        failure=failed(422, "2", "Request not allowed", Reason.CLIENT_ERROR),
    ),
    # Several errors: the first is reported (the others go to debug logs).
    Answer(
        "several-errors",
        {
            "errors": [
                {"code": 9, "description": "no recipients given", "parameter": "recipients"},
                {"code": 10, "description": "originator is invalid", "parameter": "originator"},
            ]
        },
        status=422,
        failure=failed(422, "9", "no recipients given", Reason.CLIENT_ERROR),
    ),
    Answer(
        "string-code",
        errors("2", INCORRECT_KEY),
        status=401,
        failure=failed(401, "2", INCORRECT_KEY, Reason.AUTH),
    ),
    Answer(
        "boolean-code-is-no-code",
        errors(True, INCORRECT_KEY),
        status=401,
        failure=Failure(Reason.AUTH, f"HTTP 401: {INCORRECT_KEY}"),
    ),
    # 429 and 5xx are not documented for /balance: a bare status, any Retry-After honoured.
    Answer(
        "429-bare",
        "",
        status=429,
        content_type="text/plain",
        failure=Failure(Reason.RATE_LIMITED, "HTTP 429", retry_after=NO_WAIT),
    ),
    Answer(
        "429-retry-after",
        "",
        status=429,
        headers={"Retry-After": "30"},
        content_type="text/plain",
        failure=Failure(Reason.RATE_LIMITED, "HTTP 429", retry_after=30.0),
    ),
    Answer(
        "500-code-99",
        errors(99, "Internal error"),
        status=500,
        failure=failed(500, "99", "Internal error", Reason.SERVER_ERROR),
    ),
    Answer(
        "503-html",
        "<html><body>Service Unavailable</body></html>",
        status=503,
        content_type="text/html",
        failure=Failure(Reason.SERVER_ERROR, "HTTP 503"),
    ),
    *(
        Answer(
            f"error-body-without-an-error-{index}",
            body,
            status=401,
            failure=Failure(Reason.AUTH, "HTTP 401"),
        )
        for index, body in enumerate(
            [{"errors": []}, {"errors": "bad"}, {"errors": [2]}, {"error": INCORRECT_KEY}, {}]
        )
    ),
    *(
        Answer(f"wrong-shape-{index}", body, failure=Failure(Reason.INVALID_RESPONSE))
        for index, body in enumerate(
            [
                [balance("euros", 1)],
                {"data": balance("euros", 1)},
                balance(["euros"], 1),
                balance("euros", 1, True),
            ]
        )
    ),
    # A key echoed where a unit, a payment or a code belongs never shows in the failure.
    Answer(
        "key-echoed-as-type",
        balance(API_KEY, 1),
        failure=Failure(Reason.INVALID_RESPONSE, contains=("response.type",)),
    ),
    Answer(
        "key-echoed-as-payment",
        balance("euros", 1, API_KEY),
        failure=Failure(Reason.INVALID_RESPONSE, contains=("response.payment",)),
    ),
    Answer(
        "key-echoed-as-code",
        errors(API_KEY, INCORRECT_KEY),
        status=401,
        failure=Failure(Reason.AUTH, contains=(INCORRECT_KEY,)),
    ),
    Answer(
        "key-echoed-in-the-description",
        errors(2, f"Request not allowed (incorrect access_key {API_KEY})", "access_key"),
        status=401,
        failure=Failure(Reason.AUTH, code="2", contains=("incorrect access_key",)),
    ),
]


def sim_fault(fault: str, retry_after: str = "30") -> SimAccount:
    return replace(APIS[""].sim_account, fault=fault, retry_after=retry_after)


def sim_balance(balance_: str, currency: str) -> SimAccount:
    return replace(APIS[""].sim_account, balance=Decimal(balance_), currency=currency)


SIM_401 = errors(2, INCORRECT_KEY, "access_key")
SIM_500 = errors(99, "Internal error")

SIM_ANSWERS = [
    SimAnswer("healthy", APIS[""].sim_account, 200, balance("euros", 103), served=True),
    SimAnswer("float-amount", sim_balance("9.20", "EUR"), 200, balance("euros", 9.2), served=True),
    SimAnswer("credits", sim_balance("9", "credits"), 200, balance("credits", 9), served=True),
    SimAnswer("pounds", sim_balance("12.75", "GBP"), 200, balance("pounds", 12.75), served=True),
    SimAnswer("dollars", sim_balance("-1.5", "USD"), 200, balance("dollars", -1.5), served=True),
    SimAnswer("iso-code", sim_balance("40.5", "CHF"), 200, balance("CHF", 40.5), served=True),
    # Postpaid: always 0, and no balance to trust.
    SimAnswer(
        "postpaid",
        replace(APIS[""].sim_account, state="postpaid"),
        200,
        balance("euros", 0, "postpaid"),
    ),
    # Documented for clients that cannot send a header (the exporter never does).
    SimAnswer(
        "key-in-the-query-string",
        APIS[""].sim_account,
        200,
        balance("euros", 103),
        request=(f"{PATH}?access_key={SIM_KEY}", {}),
        served=True,
    ),
    SimAnswer(
        "wrong-key",
        APIS[""].sim_account,
        401,
        SIM_401,
        request=(PATH, {"Authorization": "AccessKey wrong-key"}),
    ),
    SimAnswer(
        "bearer-instead-of-accesskey",
        APIS[""].sim_account,
        401,
        SIM_401,
        request=(PATH, {"Authorization": f"Bearer {SIM_KEY}"}),
    ),
    SimAnswer("no-authorization", APIS[""].sim_account, 401, SIM_401, request=(PATH, {})),
    # Faults, in MessageBird's shapes.
    SimAnswer("401", sim_fault("401"), 401, SIM_401),
    SimAnswer("403", sim_fault("403"), 403, errors(2, "Request not allowed")),
    SimAnswer("500", sim_fault("500"), 500, SIM_500),
    SimAnswer(
        "503-retry-after",
        sim_fault("503-retry-after", retry_after="120"),
        503,
        SIM_500,
        headers={"Retry-After": "120"},
    ),
    SimAnswer(
        "429-seconds",
        sim_fault("429-seconds", retry_after="37"),
        429,
        "",
        headers={"Retry-After": "37"},
    ),
    SimAnswer("429-bare", sim_fault("429-bare"), 429, "", absent=("Retry-After",)),
    *(
        SimAnswer(fault, sim_fault(fault), 200, balance("euros", value))
        for fault, value in (("nan", "NaN"), ("infinity", "Infinity"), ("thousands", "1,000.00"))
    ),
]


test_answer, test_simulator_answer = table_tests(PROVIDER, APIS, ANSWERS, SIM_ANSWERS)


# --- what does not fit a row --------------------------------------------------------------------


async def test_further_errors_are_not_reported(http: Any, session: aiohttp.ClientSession) -> None:
    body = {
        "errors": [
            {"code": 2, "description": INCORRECT_KEY, "parameter": "access_key"},
            {"code": 10, "description": f"key {API_KEY} is invalid", "parameter": None},
        ]
    }
    mock_answer(http, URL, body, status=401)

    failure = await fail(provider_for(PROVIDER, APIS[""]), session)

    assert failure.message == f"HTTP 401, messagebird code 2: {INCORRECT_KEY}"
