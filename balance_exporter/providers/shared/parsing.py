"""Reading provider JSON strictly: exact decimals, no NaN, clear errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from balance_exporter.polling.errors import invalid as invalid

# Far beyond any real balance, well inside what a float gauge holds exactly enough.
MAX_AMOUNT = Decimal("1e15")

# A plain decimal number in ASCII digits: no thousands separators, no exponents, no NaN
# or Infinity.
_AMOUNT = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")


def amount(value: Any, where: str) -> Decimal:
    """A money figure given as a JSON number or a numeric string."""
    if isinstance(value, bool):
        raise invalid(f"{where} is a boolean, not an amount")
    if isinstance(value, int | Decimal):
        result = Decimal(value)
    elif isinstance(value, str) and _AMOUNT.match(value.strip()):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise invalid(f"{where} is not a number: {value[:40]!r}") from None
    elif isinstance(value, str):
        raise invalid(f"{where} is not a plain number: {value[:40]!r}")
    else:
        raise invalid(f"{where} is {type_name(value)}, not an amount")
    if not result.is_finite() or result.copy_abs() > MAX_AMOUNT:
        raise invalid(f"{where} is not a plausible amount")
    return result


def optional_amount(obj: dict[str, Any], key: str, where: str) -> Decimal | None:
    value = obj.get(key)
    return None if value is None else amount(value, f"{where}.{key}")


def mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"{where} is {type_name(value)}, expected an object")
    return value


def optional_text(obj: dict[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(f"{where}.{key} is {type_name(value)}, expected a string")
    return value


def currency(obj: dict[str, Any], key: str, where: str) -> str | None:
    """An ISO 4217-like code; label-safe by construction."""
    value = optional_text(obj, key, where)
    if value is None:
        return None
    value = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{3,8}", value):
        raise invalid(f"{where}.{key} is not a currency code: {value[:20]!r}")
    return value


def utc_timestamp(value: Any, fmt: str, where: str) -> float:
    """Seconds since the epoch of a zone-less provider time, read as UTC."""
    if not isinstance(value, str):
        raise invalid(f"{where} is {type_name(value)}, expected a time")
    try:
        return datetime.strptime(value, fmt).replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise invalid(f"{where} is not a time like {fmt}: {value[:40]!r}") from None


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), "a number")
