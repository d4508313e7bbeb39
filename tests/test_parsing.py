"""Strict reading of provider JSON: balance_exporter.providers.shared.parsing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from balance_exporter.polling.errors import PollError, Reason
from balance_exporter.polling.transport import decode_json
from balance_exporter.providers.shared.parsing import (
    amount,
    currency,
    invalid,
    mapping,
    optional_amount,
    optional_text,
    type_name,
    utc_timestamp,
)


def refused(call: Any, *args: Any) -> PollError:
    with pytest.raises(PollError) as caught:
        call(*args)
    assert caught.value.reason is Reason.INVALID_RESPONSE
    assert caught.value.status is None
    return caught.value


# --- decode_json -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b'{"balance": "1", "balance": "9999"}', b'{"data": {"currency": "USD", "currency": "EUR"}}'],
)
def test_decode_json_refuses_a_key_given_twice(body: bytes) -> None:
    with pytest.raises(PollError) as caught:
        decode_json(body)
    assert caught.value.reason is Reason.INVALID_RESPONSE
    assert "twice in one object" in caught.value.message


def test_decode_json_keeps_fractions_exact() -> None:
    decoded = decode_json(b'{"a": 0.1, "b": 1267.92865, "c": 718924.5, "d": 3, "e": -0.0}')

    assert decoded == {
        "a": Decimal("0.1"),
        "b": Decimal("1267.92865"),
        "c": Decimal("718924.5"),
        "d": 3,
        "e": Decimal("-0.0"),
    }
    assert isinstance(decoded["a"], Decimal)
    assert isinstance(decoded["d"], int)
    assert str(decoded["b"]) == "1267.92865"


def test_decode_json_reads_utf8_text() -> None:
    assert decode_json('{"name": "Zürich €"}'.encode()) == {"name": "Zürich €"}


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_decode_json_refuses_non_numbers(literal: str) -> None:
    failure = refused(decode_json, f'{{"balance": {literal}}}'.encode())

    assert failure.message == f"response holds the non-number {literal}"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "response is not JSON (Expecting value at line 1)"),
        (
            b"{",
            "response is not JSON (Expecting property name enclosed in double quotes at line 1)",
        ),
        (b"<html>\n</html>", "response is not JSON (Expecting value at line 1)"),
        (b'{"a": 1}\n{"b": 2}', "response is not JSON (Extra data at line 2)"),
        (b"\xff\xfe{}", "response is not UTF-8 text"),
        (b'{"a": "\xe9"}', "response is not UTF-8 text"),
    ],
)
def test_decode_json_refuses_what_is_not_json(body: bytes, message: str) -> None:
    assert refused(decode_json, body).message == message


def test_decode_json_refuses_deep_nesting() -> None:
    failure = refused(decode_json, b"[" * 100_000 + b"]" * 100_000)

    assert failure.message == "response JSON is nested too deeply"


def test_decode_json_refuses_an_integer_too_long_to_convert() -> None:
    failure = refused(decode_json, b'{"balance": ' + b"9" * 5000 + b"}")

    assert failure.message.startswith("response is not JSON")


@pytest.mark.parametrize(
    ("body", "expected"),
    [(b"[]", []), (b"null", None), (b'"x"', "x"), (b"true", True), (b" {} ", {})],
)
def test_decode_json_accepts_any_json_value(body: bytes, expected: Any) -> None:
    assert decode_json(body) == expected


# --- amount ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("300.50", "300.50"),
        ("0", "0"),
        ("-12.34", "-12.34"),
        ("+5", "5"),
        (" 7.25 ", "7.25"),
        (".5", "0.5"),
        ("5.", "5"),
        ("00012.10", "12.10"),
        ("123456789012.123456789", "123456789012.123456789"),
        ("-1000000000000000", "-1000000000000000"),
        (1267, "1267"),
        (-3, "-3"),
        (0, "0"),
        (Decimal("1267.92865"), "1267.92865"),
        (Decimal("-0.001"), "-0.001"),
    ],
)
def test_amount_accepts_plain_numbers(value: Any, expected: str) -> None:
    result = amount(value, "balance")

    assert result == Decimal(expected)
    assert isinstance(result, Decimal)


def test_amount_keeps_the_written_precision() -> None:
    assert str(amount("300.50", "balance")) == "300.50"
    assert str(amount(Decimal("1250.50"), "balance")) == "1250.50"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("NaN", "balance is not a plain number: 'NaN'"),
        ("nan", "balance is not a plain number: 'nan'"),
        ("sNaN", "balance is not a plain number: 'sNaN'"),
        ("Infinity", "balance is not a plain number: 'Infinity'"),
        ("-Infinity", "balance is not a plain number: '-Infinity'"),
        ("inf", "balance is not a plain number: 'inf'"),
        ("1,000.00", "balance is not a plain number: '1,000.00'"),
        ("1.000,00", "balance is not a plain number: '1.000,00'"),
        ("1 000", "balance is not a plain number: '1 000'"),
        ("1_000", "balance is not a plain number: '1_000'"),
        ("1e5", "balance is not a plain number: '1e5'"),
        ("1E-2", "balance is not a plain number: '1E-2'"),
        ("0x1F", "balance is not a plain number: '0x1F'"),
        ("$5.00", "balance is not a plain number: '$5.00'"),
        ("5.00 USD", "balance is not a plain number: '5.00 USD'"),
        ("", "balance is not a plain number: ''"),
        ("  ", "balance is not a plain number: '  '"),
        (".", "balance is not a plain number: '.'"),
        ("-", "balance is not a plain number: '-'"),
        ("--1", "balance is not a plain number: '--1'"),
        # Arabic-Indic and fullwidth digits: Decimal() reads them, a plain number has none.
        ("\u0661\u0662\u0663", "balance is not a plain number: '\u0661\u0662\u0663'"),
        ("\uff11\uff12\uff13", "balance is not a plain number: '\uff11\uff12\uff13'"),
        (True, "balance is a boolean, not an amount"),
        (False, "balance is a boolean, not an amount"),
        (None, "balance is null, not an amount"),
        ([1], "balance is a list, not an amount"),
        ({"value": 1}, "balance is an object, not an amount"),
        (1.5, "balance is a number, not an amount"),
        (Decimal("NaN"), "balance is not a plausible amount"),
        (Decimal("Infinity"), "balance is not a plausible amount"),
        (Decimal("-Infinity"), "balance is not a plausible amount"),
        (Decimal("1e999999999"), "balance is not a plausible amount"),
        ("1000000000000000.01", "balance is not a plausible amount"),
    ],
)
def test_amount_refuses_anything_else(value: Any, message: str) -> None:
    assert refused(amount, value, "balance").message == message


def test_amount_quotes_at_most_forty_characters() -> None:
    failure = refused(amount, "x" * 100, "balance")

    assert failure.message == f"balance is not a plain number: {'x' * 40!r}"


def test_optional_amount() -> None:
    body = {"balance": "1.5", "pending": None}

    assert optional_amount(body, "balance", "data") == Decimal("1.5")
    assert optional_amount(body, "pending", "data") is None
    assert optional_amount(body, "credit_limit", "data") is None
    assert refused(optional_amount, {"pending": "NaN"}, "pending", "data").message == (
        "data.pending is not a plain number: 'NaN'"
    )


# --- shapes ----------------------------------------------------------------------------------


def test_mapping() -> None:
    body = {"a": 1}

    assert mapping(body, "data") is body
    assert refused(mapping, [], "data").message == "data is a list, expected an object"
    assert refused(mapping, None, "data").message == "data is null, expected an object"
    assert refused(mapping, "x", "data").message == "data is a string, expected an object"
    assert refused(mapping, 3, "data").message == "data is a number, expected an object"


def test_optional_text() -> None:
    body = {"id": "abc", "none": None, "number": 5}

    assert optional_text(body, "id", "data") == "abc"
    assert optional_text(body, "none", "data") is None
    assert optional_text(body, "missing", "data") is None
    assert refused(optional_text, body, "number", "data").message == (
        "data.number is a number, expected a string"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("USD", "USD"), ("usd", "USD"), (" eur ", "EUR"), ("ZAR", "ZAR"), ("credits", "CREDITS")],
)
def test_currency(value: str, expected: str) -> None:
    assert currency({"currency": value}, "currency", "data") == expected


def test_currency_may_be_missing() -> None:
    assert currency({}, "currency", "data") is None
    assert currency({"currency": None}, "currency", "data") is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "data.currency is not a currency code: ''"),
        ("US", "data.currency is not a currency code: 'US'"),
        ("US$", "data.currency is not a currency code: 'US$'"),
        ("€", "data.currency is not a currency code: '€'"),
        ("U S D", "data.currency is not a currency code: 'U S D'"),
        ("us\nd", "data.currency is not a currency code: 'US\\nD'"),
        ("ABCDEFGHI", "data.currency is not a currency code: 'ABCDEFGHI'"),
        (840, "data.currency is a number, expected a string"),
        (True, "data.currency is a boolean, expected a string"),
    ],
)
def test_currency_refuses_what_is_not_a_code(value: Any, message: str) -> None:
    assert refused(currency, {"currency": value}, "currency", "data").message == message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026.02.13 10:15:00", 1_770_977_700.0),
        ("1970.01.01 00:00:00", 0.0),
        ("2024.02.29 23:59:59", 1_709_251_199.0),
    ],
)
def test_utc_timestamp_reads_zoneless_times_as_utc(value: str, expected: float) -> None:
    assert utc_timestamp(value, "%Y.%m.%d %H:%M:%S", "updated") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "2026-02-13 10:15:00",
            "updated is not a time like %Y.%m.%d %H:%M:%S: '2026-02-13 10:15:00'",
        ),
        (
            "2026.02.30 10:15:00",
            "updated is not a time like %Y.%m.%d %H:%M:%S: '2026.02.30 10:15:00'",
        ),
        ("2026.02.13", "updated is not a time like %Y.%m.%d %H:%M:%S: '2026.02.13'"),
        ("", "updated is not a time like %Y.%m.%d %H:%M:%S: ''"),
        (1770977700, "updated is a number, expected a time"),
        (None, "updated is null, expected a time"),
    ],
)
def test_utc_timestamp_refuses_other_forms(value: Any, message: str) -> None:
    assert refused(utc_timestamp, value, "%Y.%m.%d %H:%M:%S", "updated").message == message


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (None, "null"),
        (True, "a boolean"),
        ("x", "a string"),
        ([], "a list"),
        ({}, "an object"),
        (1, "a number"),
        (Decimal("1.5"), "a number"),
    ],
)
def test_type_name(value: Any, name: str) -> None:
    assert type_name(value) == name


def test_invalid_is_an_invalid_response() -> None:
    failure = invalid("data is odd")

    assert failure.reason is Reason.INVALID_RESPONSE
    assert failure.message == "data is odd"
    assert failure.status is None
    assert failure.code is None
    assert failure.retry_after is None
