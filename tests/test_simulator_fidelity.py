"""The simulator's answers against the response schemas of the providers' documentation.

Telnyx and You.com publish OpenAPI documents (copied into tests/schemas/*.openapi.yaml); their
answers are validated against the response documented for the status code. Twilio, Clickatell
(REST and platform) and 23 Telecom have JSON Schemas written from their pages
(tests/schemas/*.schema.json). Every answer with a JSON body the simulator can give is checked:
success, each state, a wrong key, the 401/403/429/500/503 faults and the rate limiter. Success
bodies may carry no field the documentation does not show.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from jsonschema import Draft202012Validator
from provider_kit import every_api
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from test_simulator import WALL, Clock, gateway

from balance_exporter.simulator import RateLimit, SimAccount, Simulator
from balance_exporter.simulator.providers.registry import SIMULATED

SCHEMAS = Path(__file__).parent / "schemas"
APIS = every_api()  # case id -> (provider, variant, Api)


def schema_file(case_id: str) -> Path | None:
    """tests/schemas/<case id>.openapi.yaml (the provider's own document) or .schema.json
    (written from its documentation page); None when there is none (the registry test says)."""
    for suffix in (".openapi.yaml", ".schema.json"):
        if (SCHEMAS / f"{case_id}{suffix}").exists():
            return SCHEMAS / f"{case_id}{suffix}"
    return None


def _documented_path(case_id: str) -> str:
    """The balance path as the OpenAPI document names it (below its server URL)."""
    document = yaml.safe_load((SCHEMAS / f"{case_id}.openapi.yaml").read_text(encoding="utf-8"))
    api_path = APIS[case_id][2].path
    (path,) = [path for path in document["paths"] if api_path.endswith(path)]
    return str(path)


# Case id -> (OpenAPI document, the balance path in it); case id -> hand-written JSON Schema.
OPENAPI = {
    case_id: (f"{case_id}.openapi.yaml", _documented_path(case_id))
    for case_id in APIS
    if (SCHEMAS / f"{case_id}.openapi.yaml").exists()
}
JSON_SCHEMAS = {
    case_id: f"{case_id}.schema.json"
    for case_id in APIS
    if (SCHEMAS / f"{case_id}.schema.json").exists()
}


def closed(schema: Any) -> Any:
    """A copy in which every object schema that lists properties and says nothing of others
    allows no others: what "the body has exactly the documented fields" means."""
    if isinstance(schema, dict):
        copy = {key: closed(value) for key, value in schema.items()}
        if isinstance(schema.get("properties"), dict) and "additionalProperties" not in schema:
            copy["additionalProperties"] = False
        return copy
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    return schema


def openapi_document(provider: str) -> Any:
    return yaml.safe_load((SCHEMAS / OPENAPI[provider][0]).read_text(encoding="utf-8"))


def json_schema(provider: str) -> Any:
    return json.loads((SCHEMAS / JSON_SCHEMAS[provider]).read_text(encoding="utf-8"))


@cache
def registry() -> Registry[Any]:
    resources: list[tuple[str, Resource[Any]]] = []
    for provider in OPENAPI:
        document = openapi_document(provider)  # OpenAPI 3.1 schemas are JSON Schema 2020-12
        resources.append((f"urn:openapi:{provider}", DRAFT202012.create_resource(document)))
        resources.append(
            (f"urn:openapi:{provider}:closed", DRAFT202012.create_resource(closed(document)))
        )
    for provider in JSON_SCHEMAS:
        schema = json_schema(provider)
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


def _validator(ref: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": ref}, registry=registry())


def openapi_validator(provider: str, status: int, *, exact: bool = False) -> Draft202012Validator:
    """The schema the OpenAPI document gives for ``status`` (or its ``default`` response)."""
    document = openapi_document(provider)
    path = OPENAPI[provider][1]
    responses = document["paths"][path]["get"]["responses"]
    key = str(status) if str(status) in responses else "default"
    assert key in responses, f"{provider} documents no response for {status}"
    response = responses[key]
    if "$ref" in response:  # a shared response object under #/components/responses
        pointer = response["$ref"]
    else:
        pointer = "#/paths/" + path.replace("~", "~0").replace("/", "~1") + f"/get/responses/{key}"
    uri = f"urn:openapi:{provider}:closed" if exact else f"urn:openapi:{provider}"
    return _validator(f"{uri}{pointer}/content/application~1json/schema")


def schema_validator(provider: str, definition: str) -> Draft202012Validator:
    return _validator(f"{json_schema(provider)['$id']}#/$defs/{definition}")


def problems(validator: Draft202012Validator, instance: Any) -> list[str]:
    return sorted(
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in validator.iter_errors(instance)
    )


# --- the answers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    provider: str
    answer: str  # what the simulator is asked to show
    state: str = "ok"
    fault: str | None = None
    balance: str | None = None
    wrong_key: bool = False
    rate_limited: bool = False

    @property
    def id(self) -> str:
        return f"{self.provider}:{self.answer}"


ERROR_FAULTS = (
    "401",
    "403",
    "500",
    "503-retry-after",
    "429-seconds",
    "429-date",
    "429-bare",
    "429-reset-ms",
)


def cases() -> Iterator[Case]:
    for case_id, (provider, _, _) in APIS.items():
        yield Case(case_id, "balance")
        yield Case(case_id, "zero balance", balance="0")
        yield Case(case_id, "negative balance", balance="-12.5")
        yield Case(case_id, "wrong key", wrong_key=True)
        yield Case(case_id, "rate limiter", rate_limited=True)
        for fault in ERROR_FAULTS:
            yield Case(case_id, f"fault {fault}", fault=fault)
        for state in SIMULATED[provider].states:
            if state != "ok":
                yield Case(case_id, state, state=state)


CASES = list(cases())


@asynccontextmanager
async def simulator_for(case: Case) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    limit = RateLimit(requests=1 if case.rate_limited else 100, window=60.0)
    simulator = Simulator(clock=Clock(), wall_clock=lambda: WALL, rate_limit=limit)
    account = dataclasses.replace(APIS[case.provider][2].sim_account)
    account.state, account.fault = case.state, case.fault
    if case.balance is not None:
        account.balance = Decimal(case.balance)
    simulator.add(case.provider, account)
    async with TestClient(TestServer(simulator.app())) as client:
        yield client


def request_for(case: Case) -> tuple[str, dict[str, str]]:
    api = APIS[case.provider][2]
    path, headers = api.sim_request
    if case.wrong_key:  # another key than the account's, wherever the request carries it
        key = api.sim_account.key
        return path.replace(key, key + "-wrong"), {
            name: value + "-wrong" for name, value in headers.items()
        }
    return path, dict(headers)


def expected_schema(case: Case, status: int) -> tuple[Draft202012Validator, str]:
    """The documented schema for this answer, and a word on where it comes from."""
    if case.provider in OPENAPI:
        responses = openapi_document(case.provider)["paths"][OPENAPI[case.provider][1]]["get"]
        documented = responses["responses"]
        if str(status) not in documented and "default" not in documented:
            # A status the document does not list: the shapes gathered beyond it.
            assert case.provider in JSON_SCHEMAS, f"{case.provider} documents no {status}"
            return schema_validator(case.provider, "error"), f"{status}, beyond the document"
        return openapi_validator(case.provider, status, exact=status == 200), f"OpenAPI {status}"
    definitions = json_schema(case.provider)["$defs"]
    if status != 200:
        rate_limit = case.rate_limited or (case.fault or "").startswith("429")
        if rate_limit and "rate_limited" in definitions:
            return schema_validator(case.provider, "rate_limited"), "its rate-limit answer"
        return schema_validator(case.provider, "error"), "error"
    definition = case.state if case.state in definitions else "balance"
    return schema_validator(case.provider, definition), definition


def is_json(content_type: str) -> bool:
    """application/json, or a JSON media type of its own (application/vnd.api+json)."""
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_every_json_answer_validates_against_the_documented_schema(case: Case) -> None:
    path, headers = request_for(case)
    async with simulator_for(case) as client:
        if case.rate_limited:
            async with client.get(path, headers=headers) as first:
                assert first.status == 200
        async with client.get(path, headers=headers) as response:
            status, content_type = response.status, response.content_type
            sms_gateway = gateway(response.headers)
            body = await response.read()

    if content_type == "text/plain":
        # A provider whose errors are plain text (46elks): the text against its "error" schema,
        # a string one; a success is never plain text.
        assert status != 200
        validator, origin = expected_schema(case, status)
        assert problems(validator, body.decode("utf-8")) == [], origin
        return
    if status == 429 and not is_json(content_type):
        # A 429 from an edge (23 Telecom's) comes with no body or an HTML one: nothing to
        # validate, and nothing that pretends to be JSON.
        assert content_type in ("application/octet-stream", "text/html")
        return
    assert is_json(content_type)
    validator, origin = expected_schema(case, status)
    assert problems(validator, json.loads(body)) == [], origin

    # Headers a provider flags its answers with are documented too (23 Telecom's gateway).
    if case.provider in JSON_SCHEMAS and "degraded_headers" in json_schema(case.provider)["$defs"]:
        if case.state.startswith("degraded"):
            validator = schema_validator(case.provider, "degraded_headers")
            assert problems(validator, sms_gateway) == []
        else:
            assert sms_gateway == {}


def test_every_answer_kind_is_covered() -> None:
    states = sum(len(SIMULATED[provider].states) - 1 for provider, _, _ in APIS.values())
    assert len(CASES) == len(APIS) * (5 + len(ERROR_FAULTS)) + states
    assert {case.provider for case in CASES} == set(APIS)
    assert set(OPENAPI) | set(JSON_SCHEMAS) == set(APIS), "every provider API has a schema"


def test_every_status_of_every_answer_is_documented() -> None:
    # A provider described by its OpenAPI document needs a schema of its own for the rest.
    for case_id in set(OPENAPI) - set(JSON_SCHEMAS):
        responses = openapi_document(case_id)["paths"][OPENAPI[case_id][1]]["get"]["responses"]
        assert "default" in responses, f"{case_id}: statuses beyond its document need a schema"


# --- the schemas themselves: faithful to the docs, and able to fail ----------------------------


def test_openapi_copies_are_the_documented_apis() -> None:
    telnyx = openapi_document("telnyx")
    assert telnyx["servers"] == [{"url": "https://api.telnyx.com/v2"}]
    assert set(telnyx["paths"]["/balance"]["get"]["responses"]) == {
        "200",
        "403",
        "422",
        "503",
        "default",
    }
    youcom = openapi_document("youcom")
    assert youcom["servers"] == [{"url": "https://api.you.com"}]
    responses = youcom["paths"]["/v1/billing/account_balance"]["get"]["responses"]
    assert set(responses) == {"200", "401", "403", "500"}


def test_documented_examples_validate() -> None:
    telnyx = openapi_document("telnyx")["components"]["schemas"]["UserBalance"]["example"]
    assert problems(openapi_validator("telnyx", 200, exact=True), {"data": telnyx}) == []
    youcom = {"data": {"type": "account", "id": "ent_9f2c", "attributes": {"balance": 718924.5}}}
    assert problems(openapi_validator("youcom", 200, exact=True), youcom) == []
    for provider in JSON_SCHEMAS:
        for name, definition in json_schema(provider)["$defs"].items():
            for example in definition.get("examples", []):
                assert problems(schema_validator(provider, name), example) == [], (provider, name)


TELNYX_OK = {"record_type": "balance", "balance": "300.00", "currency": "USD"}
TWILIO_OK = {"account_sid": "AC0123456789abcdef0123456789abcdef", "balance": "1", "currency": "USD"}
T23_OK = {"balance": 1.5, "currency": "EUR", "updated": "2026.02.13 10:15:00"}


# (validator factory arguments, body that the documentation rules out)
REJECTED: list[tuple[str, str | int, bool, Any]] = [
    ("telnyx", 200, True, {"data": {**TELNYX_OK, "balance": 300.0}}),
    ("telnyx", 200, True, {"data": {**TELNYX_OK, "record_type": "invoice"}}),
    ("telnyx", 200, True, {"data": {**TELNYX_OK, "credit_blocked": True}}),
    ("telnyx", 200, True, {"data": TELNYX_OK, "meta": {}}),
    ("telnyx", 403, False, {"errors": [{"title": "Forbidden"}]}),
    ("telnyx", 401, False, {"errors": {"code": "10009", "title": "Authentication failed"}}),
    (
        "youcom",
        200,
        False,
        {"data": {"type": "account", "id": "x", "attributes": {"balance": "1"}}},
    ),
    ("youcom", 200, False, {"data": {"type": "account", "attributes": {"balance": 1}}}),
    (
        "youcom",
        200,
        True,
        {"data": {"type": "account", "id": "x", "attributes": {"balance": 1, "currency": "USD"}}},
    ),
    ("youcom", 401, False, {"detail": ["Invalid API key"]}),
    ("twilio", "balance", False, {**TWILIO_OK, "balance": 1.0}),
    ("twilio", "balance", False, {**TWILIO_OK, "balance": "1,000.00"}),
    (
        "twilio",
        "balance",
        False,
        {**TWILIO_OK, "account_sid": "SK0123456789abcdef0123456789abcdef"},
    ),
    ("twilio", "balance", False, {**TWILIO_OK, "unit": "USD"}),
    ("twilio", "balance", False, {"balance": "1", "currency": "USD"}),
    ("twilio", "error", False, {"code": "20003", "message": "x", "more_info": "x", "status": 401}),
    ("twilio", "error", False, {"code": 20003, "message": "Authenticate", "status": 401}),
    ("clickatell-rest", "balance", False, {"data": {"balance": 300.5}}),
    ("clickatell-rest", "balance", False, {"balance": "300.50"}),
    ("clickatell-rest", "balance", False, {"data": {"balance": "300.50", "currency": "ZAR"}}),
    (
        "clickatell-rest",
        "error",
        False,
        {"error": {"code": "1", "description": "Authentication failed"}},
    ),
    ("clickatell-platform", "balance", False, {"balance": "1267.92865", "currency": "ZAR"}),
    ("clickatell-platform", "balance", False, {"balance": 1.0, "currency": "zar"}),
    ("clickatell-platform", "rate_limited", False, {"error": {"code": 1, "description": "x"}}),
    ("23telecom", "balance", False, {**T23_OK, "balance": 0}),
    ("23telecom", "balance", False, {**T23_OK, "credit_blocked": True}),
    ("23telecom", "balance", False, {**T23_OK, "balance": "1.50"}),
    ("23telecom", "balance", False, {**T23_OK, "updated": "2026-02-13T10:15:00Z"}),
    ("23telecom", "balance", False, {**T23_OK, "unavailable": True}),
    ("23telecom", "setup", False, {"status": False, "error_code": "SETUP", "error": "x"}),
    (
        "23telecom",
        "degraded",
        False,
        {"balance": 5, "currency": "EUR", "unavailable": True, "reason": "x"},
    ),
    (
        "23telecom",
        "degraded",
        False,
        {"balance": 0, "currency": "EUR", "unavailable": False, "reason": "x"},
    ),
    (
        "23telecom",
        "degraded_headers",
        False,
        {"X-Sms-Gateway-Status": "ok", "X-Sms-Gateway-Reason": "x"},
    ),
    (
        "23telecom",
        "error",
        False,
        {"status": False, "error_code": "invalid_key", "description": "x"},
    ),
    (
        "23telecom",
        "error",
        False,
        {"status": True, "error_code": "INVALID_API_KEY", "description": "x"},
    ),
]


@pytest.mark.parametrize(
    ("provider", "what", "exact", "body"),
    REJECTED,
    ids=[f"{case[0]}-{case[1]}-{i}" for i, case in enumerate(REJECTED)],
)
def test_schemas_reject_what_the_documentation_rules_out(
    provider: str, what: str | int, exact: bool, body: Any
) -> None:
    if isinstance(what, int):
        validator = openapi_validator(provider, what, exact=exact)
    else:
        validator = schema_validator(provider, what)
    assert problems(validator, body) != []


@pytest.mark.parametrize("provider", list(APIS))
def test_wrong_shape_fault_is_not_a_documented_success(provider: str) -> None:
    body = {"result": ["unexpected"]}
    if provider in OPENAPI:
        validator = openapi_validator(provider, 200, exact=True)
    else:
        validator = schema_validator(provider, "balance")
    assert problems(validator, body) != []


def test_exact_schemas_differ_from_the_documents_only_by_closing_objects() -> None:
    document = openapi_document("telnyx")
    exact = closed(document)
    user_balance = exact["components"]["schemas"]["UserBalance"]
    assert user_balance["additionalProperties"] is False
    # What the document says explicitly stays: billing_Error.meta is open.
    meta = exact["components"]["schemas"]["billing_Error"]["properties"]["meta"]
    assert meta["additionalProperties"] is True
    del user_balance["additionalProperties"]
    assert (
        exact["components"]["schemas"]["UserBalance"]
        == document["components"]["schemas"]["UserBalance"]
    )


def test_schema_files_name_their_source() -> None:
    for name, _ in OPENAPI.values():
        first = (SCHEMAS / name).read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# The ")
        assert "OpenAPI document, copied unchanged" in first
    for provider in JSON_SCHEMAS:
        schema = json_schema(provider)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert "provider" in schema["$comment"]
        Draft202012Validator.check_schema(schema)


def test_a_simulated_account_has_the_documented_identifiers() -> None:
    # The fixtures the cases run on are themselves valid per the docs.
    twilio = APIS["twilio"][2].sim_account
    assert isinstance(twilio, SimAccount)
    sid_schema = json_schema("twilio")["$defs"]["balance"]["properties"]["account_sid"]
    assert problems(Draft202012Validator(sid_schema), twilio.account_sid) == []
