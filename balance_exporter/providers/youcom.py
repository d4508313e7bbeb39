"""You.com: GET /v1/billing/account_balance with X-API-Key; the balance is in CENTS.

``data.id`` names the billing entity: several keys of one organisation share one pool.
Errors are FastAPI's: ``detail`` is a string or a list of ``{loc, msg, type}``; some
bodies say ``error`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from balance_exporter.config.secret import Secret
from balance_exporter.config.settings import ProviderSettings, secret
from balance_exporter.metrics.reading import Reading
from balance_exporter.providers.base import ErrorDetail, Provider, Request, Response, text_of
from balance_exporter.providers.shared.parsing import amount, mapping, optional_text

CENTS = Decimal(100)


@dataclass(frozen=True, kw_only=True)
class YouComSettings(ProviderSettings):
    api_key: Secret = secret()


class YouCom(Provider[YouComSettings]):
    name = "youcom"
    default_base_url = "https://api.you.com"
    settings_type = YouComSettings

    def request(self) -> Request:
        return Request(
            f"{self.base_url}/v1/billing/account_balance",
            {"X-API-Key": self.settings.api_key.reveal()},
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
        detail = body.get("detail")
        if isinstance(detail, list):  # validation errors: [{"loc": [...], "msg": ..., "type": ...}]
            first = detail[0] if detail and isinstance(detail[0], dict) else {}
            return ErrorDetail(text=text_of(first.get("msg")))
        return ErrorDetail(text=text_of(detail) or text_of(body.get("error")))
