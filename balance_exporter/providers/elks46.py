"""46elks: GET /a1/me with HTTP Basic auth; the balance is an INTEGER in 1/10,000 of the currency.

``{"currency": "SEK", "balance": 9670500, ...}`` is 967.05 SEK: scaled as a Decimal, never
through a float. Errors are plain text (``text/plain``) with the meaning in the status; some
clients report ``{"error": "…"}`` bodies, so either is read. Only GET: a POST to /me (or the
``GET …/POST`` form 46elks allows) would change the account.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiohttp import encode_basic_auth

from balance_exporter.config.secret import Secret
from balance_exporter.config.settings import ProviderSettings, secret, setting
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import PollError
from balance_exporter.providers.base import ErrorDetail, Provider, Request, Response, text_of
from balance_exporter.providers.shared.parsing import (
    amount,
    currency,
    invalid,
    mapping,
    optional_text,
    type_name,
)

UNIT_EXPONENT = -4  # every 46elks money figure counts 1/10,000 of the account currency
UNIT = "an integer in 1/10,000 of the currency"


@dataclass(frozen=True, kw_only=True)
class Elks46Settings(ProviderSettings):
    username: str = setting(help="API username from the 46elks dashboard")
    password: Secret = secret(help="API password from the 46elks dashboard")


class Elks46(Provider[Elks46Settings]):
    name = "46elks"
    default_base_url = "https://api.46elks.com"
    settings_type = Elks46Settings

    def request(self) -> Request:
        return Request(
            f"{self.base_url}/a1/me",
            {
                "Authorization": encode_basic_auth(
                    self.settings.username, self.settings.password.reveal()
                )
            },
        )

    def parse(self, response: Response) -> Reading:
        body = mapping(response.json(), "response")
        if "balance" not in body:
            raise invalid("response has no balance field")
        units = body["balance"]
        # Documented as a JSON integer: a string or a fraction is not a count of 1/10,000.
        if isinstance(units, bool) or not isinstance(units, int):
            kind = "a decimal number" if isinstance(units, Decimal) else type_name(units)
            raise invalid(f"balance is {kind}, expected {UNIT}")
        code = currency(body, "currency", "response")
        if code is None:  # the figure means nothing without the currency it counts in
            raise invalid("response has no currency")
        return Reading(
            currency=code,
            balance=amount(Decimal(units).scaleb(UNIT_EXPONENT), "balance"),
            provider_account_id=optional_text(body, "id", "response"),
        )

    def error_detail(self, body: dict[str, Any]) -> ErrorDetail:
        return ErrorDetail(text=text_of(body.get("error")))

    def error(self, response: Response) -> PollError:
        try:
            body = response.json()
        except PollError:
            body = None
        if isinstance(body, dict):
            detail = self.error_detail(body)
        elif _is_plain_text(response):
            detail = ErrorDetail(text=_plain_text(response.body))
        else:
            detail = ErrorDetail()  # HTML or empty pages say nothing more than the status
        return self.failure(detail, response.status)


def _is_plain_text(response: Response) -> bool:
    media_type = response.headers.get("Content-Type", "").split(";", 1)[0]
    return media_type.strip().lower() == "text/plain"


def _plain_text(body: bytes) -> str | None:
    """The error text, printable; ``failure()`` makes it one short line."""
    text = body.decode("utf-8", errors="replace")
    text = "".join(char if char.isprintable() else " " for char in text).strip()
    return text or None
