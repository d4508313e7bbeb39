"""You.com's case table: its API for the registry-wide suites, its answers, its simulator."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import aiohttp
from provider_kit import (
    API_KEY,
    Answer,
    Api,
    Failure,
    SimAnswer,
    mock_answer,
    provider_for,
    read,
    table_tests,
)

from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import Reason
from balance_exporter.simulator import SimAccount

PROVIDER = "youcom"
SIM_KEY = "yc-canary-Qm47-do-not-leak"
SIM_PATH = "/v1/billing/account_balance"

APIS = {
    "": Api(
        config={"api_key": API_KEY},
        url="https://api.you.com/v1/billing/account_balance",
        headers={"X-API-Key": API_KEY},
        # The main figure is in cents, as You.com gives it.
        success=lambda value: {
            "data": {"type": "account", "id": "e1", "attributes": {"balance": value}}
        },
        error=lambda text: {"detail": text},
        sim_account=SimAccount(
            PROVIDER, SIM_KEY, balance=Decimal("7189.245"), entity_id="ent_9f2c"
        ),
        sim_request=(SIM_PATH, {"X-API-Key": SIM_KEY}),
    )
}


def balance(cents: Any) -> dict[str, Any]:
    return {"data": {"type": "account", "id": "e", "attributes": {"balance": cents}}}


def dollars(value: str, entity: str | None = "e") -> Reading:
    return Reading(currency="USD", balance=Decimal(value), provider_account_id=entity)


def failed(status: int, text: str | None, reason: Reason) -> Failure:
    return Failure(reason, f"HTTP {status}: {text}" if text else f"HTTP {status}")


# FastAPI's answer to a request it cannot validate: a list of {loc, msg, type}.
VALIDATION = {
    "detail": [
        {"loc": ["header", "x-api-key"], "msg": "Field required", "type": "missing"},
        {"loc": ["query", "x"], "msg": "Second problem", "type": "value_error"},
    ]
}

ANSWERS = [
    # The documented example: cents, fractional; the dollars are exact, not rounded to 7189.24.
    Answer(
        "documented-cents",
        {"data": {"type": "account", "id": "a1b2c3d4e5", "attributes": {"balance": 718924.5}}},
        reading=dollars("7189.245", "a1b2c3d4e5"),
    ),
    *(
        Answer(f"cents-{name}", balance(cents), reading=dollars(value))
        for name, cents, value in [
            ("zero", 0, "0"),
            ("one", 1, "0.01"),
            ("hundred-thousand", 100000, "1000"),
            ("negative", -250, "-2.5"),
            ("numeric-string", "99.9", "0.999"),
        ]
    ),
    # data.id names the billing entity; without it the balance still counts.
    Answer(
        "without-id",
        {"data": {"type": "account", "attributes": {"balance": 5}}},
        reading=dollars("0.05", None),
    ),
    *(
        Answer(f"wrong-shape-{name}", body, failure=Failure(Reason.INVALID_RESPONSE, message))
        for name, body, message in [
            (
                "no-balance",
                {"data": {"id": "e", "attributes": {}}},
                "data.attributes.balance is null, not an amount",
            ),
            (
                "no-attributes",
                {"data": {"id": "e"}},
                "data.attributes is null, expected an object",
            ),
            (
                "attributes-a-list",
                {"data": {"id": "e", "attributes": []}},
                "data.attributes is a list, expected an object",
            ),
            (
                "id-a-number",
                {"data": {"id": 5, "attributes": {"balance": 1}}},
                "data.id is a number, expected a string",
            ),
            (
                "no-data",
                {"attributes": {"balance": 1}},
                "data is null, expected an object",
            ),
        ]
    ),
    # A key echoed in the entity id must not show in the failure (the kit checks).
    Answer(
        "secret-echoed-as-id",
        {"data": {"id": {"k": API_KEY}, "attributes": {"balance": 1}}},
        failure=Failure(Reason.INVALID_RESPONSE, "data.id is an object, expected a string"),
    ),
    # Documented errors: {"detail": "text"}, no code of its own.
    Answer(
        "401",
        {"detail": "Invalid API key."},
        status=401,
        failure=failed(401, "Invalid API key.", Reason.AUTH),
    ),
    Answer(
        "403",
        {"detail": "API key lacks scope for this path."},
        status=403,
        failure=failed(403, "API key lacks scope for this path.", Reason.AUTH),
    ),
    Answer(
        "500",
        {"detail": "Internal Server Error during authentication."},
        status=500,
        failure=failed(500, "Internal Server Error during authentication.", Reason.SERVER_ERROR),
    ),
    # FastAPI's other shapes: a list detail says its first msg; some bodies say error.
    Answer(
        "422-list-detail-first-msg",
        VALIDATION,
        status=422,
        failure=failed(422, "Field required", Reason.CLIENT_ERROR),
    ),
    Answer(
        "422-empty-list-detail",
        {"detail": []},
        status=422,
        failure=failed(422, None, Reason.CLIENT_ERROR),
    ),
    Answer(
        "422-list-detail-without-msg",
        {"detail": [{"loc": ["header"], "type": "missing"}]},
        status=422,
        failure=failed(422, None, Reason.CLIENT_ERROR),
    ),
    Answer(
        "422-list-detail-not-objects",
        {"detail": ["Field required"]},
        status=422,
        failure=failed(422, None, Reason.CLIENT_ERROR),
    ),
    # A key echoed in a validation msg must not show either.
    Answer(
        "secret-echoed-in-list-detail",
        {"detail": [{"loc": ["header"], "msg": f"bad key {API_KEY}", "type": "invalid"}]},
        status=401,
        failure=Failure(Reason.AUTH, contains=("HTTP 401: bad key",)),
    ),
    Answer(
        "error-key",
        {"error": "Unauthorized"},
        status=401,
        failure=failed(401, "Unauthorized", Reason.AUTH),
    ),
    Answer(
        "detail-before-error",
        {"detail": "Invalid API key.", "error": "Unauthorized"},
        status=401,
        failure=failed(401, "Invalid API key.", Reason.AUTH),
    ),
    Answer(
        "neither-detail-nor-error",
        {"message": "Unauthorized"},
        status=401,
        failure=failed(401, None, Reason.AUTH),
    ),
    # Its 429: the detail, with the wait in Retry-After seconds, or without any.
    Answer(
        "429-seconds",
        {"detail": "Too many requests"},
        status=429,
        headers={"Retry-After": "37"},
        failure=replace(failed(429, "Too many requests", Reason.RATE_LIMITED), retry_after=37.0),
    ),
    Answer(
        "429-bare",
        {"detail": "Too many requests"},
        status=429,
        failure=failed(429, "Too many requests", Reason.RATE_LIMITED),
    ),
]

UNAUTHORIZED = {"detail": "Invalid or missing API key"}
RATE_LIMITED = {"detail": "Too many requests"}


def faulty(fault: str, **more: Any) -> SimAccount:
    return SimAccount(PROVIDER, SIM_KEY, fault=fault, **more)


SIM_ANSWERS = [
    SimAnswer(
        "invalid-request-is-fastapis-422",
        replace(APIS[""].sim_account, state="invalid-request"),
        422,
        {"detail": [{"loc": ["header", "x-api-key"], "msg": "Field required", "type": "missing"}]},
    ),
    SimAnswer(
        "gateway-error-says-error",
        replace(APIS[""].sim_account, state="gateway-error"),
        502,
        {"error": "Bad gateway"},
    ),
    SimAnswer(
        "healthy",
        APIS[""].sim_account,
        200,
        {"data": {"type": "account", "id": "ent_9f2c", "attributes": {"balance": 718924.5}}},
        served=True,
    ),
    SimAnswer(
        "negative-balance-in-cents",
        SimAccount(PROVIDER, SIM_KEY, balance=Decimal("-2.50"), entity_id="ent_9f2c"),
        200,
        {"data": {"type": "account", "id": "ent_9f2c", "attributes": {"balance": -250.0}}},
        served=True,
    ),
    # The id is required by the docs: an account without one still answers some entity.
    SimAnswer(
        "entity-id-always-given",
        SimAccount(PROVIDER, SIM_KEY, balance=Decimal("0.05")),
        200,
        {"data": {"type": "account", "id": "ent_0000", "attributes": {"balance": 5.0}}},
        served=True,
    ),
    # Wrong credentials: a wrong key, the right one as a Bearer token, or none at all.
    SimAnswer(
        "wrong-key",
        APIS[""].sim_account,
        401,
        UNAUTHORIZED,
        request=(SIM_PATH, {"X-API-Key": "wrong"}),
    ),
    SimAnswer(
        "bearer-instead-of-x-api-key",
        APIS[""].sim_account,
        401,
        UNAUTHORIZED,
        request=(SIM_PATH, {"Authorization": f"Bearer {SIM_KEY}"}),
    ),
    SimAnswer("no-key", APIS[""].sim_account, 401, UNAUTHORIZED, request=(SIM_PATH, {})),
    SimAnswer("401", faulty("401"), 401, UNAUTHORIZED),
    SimAnswer(
        "403", faulty("403"), 403, {"detail": "Forbidden. API key lacks scope for this path."}
    ),
    SimAnswer("500", faulty("500"), 500, {"detail": "Internal Server Error"}),
    SimAnswer(
        "503-retry-after",
        faulty("503-retry-after"),
        503,
        {"detail": "Internal Server Error"},
        headers={"Retry-After": "30"},
    ),
    SimAnswer(
        "429-seconds",
        faulty("429-seconds", retry_after="37"),
        429,
        RATE_LIMITED,
        headers={"Retry-After": "37"},
    ),
    SimAnswer(
        "429-bare",
        faulty("429-bare", retry_after="37"),
        429,
        RATE_LIMITED,
        absent=("Retry-After",),
    ),
    # A figure no client may take for a number, in the success shape.
    SimAnswer(
        "nan",
        faulty("nan"),
        200,
        {"data": {"type": "account", "id": "x", "attributes": {"balance": "NaN"}}},
    ),
]


async def test_documented_cents_give_exact_dollars(
    http: Any, session: aiohttp.ClientSession
) -> None:
    # Beyond equal in value: written as the exact dollars, not rounded, no exponent.
    provider = provider_for(PROVIDER, APIS[""])
    mock_answer(http, APIS[""].url, balance(718924.5))
    reading = await read(provider, session)
    assert str(reading.balance) == "7189.245"


test_answer, test_simulator_answer = table_tests(PROVIDER, APIS, ANSWERS, SIM_ANSWERS)
