"""How the landing page writes an amount: one rule for every figure on it."""

from __future__ import annotations

from decimal import Decimal

CENTS = Decimal("0.01")


def is_iso_currency(currency: str) -> bool:
    """ISO 4217 codes are three capital letters; units (credits, searches) are lower-case words."""
    return len(currency) == 3 and currency.isascii() and currency.isalpha() and currency.isupper()


def format_amount(amount: Decimal, currency: str | None) -> str:
    """ISO money with two decimals, or more where the provider gave more (7189.245 USD); units
    and amounts of an unknown currency as they are (300.5 credits)."""
    if currency is None:
        return f"{amount:f}"
    if not is_iso_currency(currency):
        return f"{amount:f} {currency}"
    exact = amount.normalize()  # 12.5000 shows as 12.50, 7189.2450 as 7189.245
    exponent = exact.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        exact = exact.quantize(CENTS)
    return f"{exact:f} {currency}"
