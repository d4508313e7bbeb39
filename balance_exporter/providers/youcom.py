"""You.com: GET /v1/billing/account_balance with X-API-Key; the balance is in CENTS.

``data.id`` names the billing entity: several keys of one organisation share one pool.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from balance_exporter.metrics.reading import Reading
from balance_exporter.providers.base import ErrorDetail, Field, Provider, Request, Response, text_of
from balance_exporter.providers.parsing import amount, mapping, optional_text

CENTS = Decimal(100)


class YouCom(Provider):
    name = "youcom"
    default_base_url = "https://api.you.com"
    fields = (Field("api_key", secret=True),)

    def request(self) -> Request:
        return Request(
            f"{self.base_url}/v1/billing/account_balance",
            {"X-API-Key": self.account.secret("api_key")},
        )

    def parse(self, response: Response) -> Reading:
        data = mapping(mapping(response.json(), "response").get("data"), "data")
        attributes = mapping(data.get("attributes"), "data.attributes")
        cents = amount(attributes.get("balance"), "data.attributes.balance")
        return Reading(
            currency="USD",
            balance=cents / CENTS,
            provider_account_id=optional_text(data, "id", "data"),
        )

    def error_detail(self, body: dict[str, Any]) -> ErrorDetail:
        return ErrorDetail(text=text_of(body.get("detail")))
