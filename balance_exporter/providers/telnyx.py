"""Telnyx: GET /v2/balance with a Bearer key; amounts are strings in major units.

A credit account reports a negative balance beside its credit limit and available credit,
and may leave ``pending`` out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from balance_exporter.config.secret import Secret
from balance_exporter.config.settings import ProviderSettings, secret
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import Reason
from balance_exporter.providers.base import (
    ErrorDetail,
    Provider,
    Request,
    Response,
    json_api_error,
)
from balance_exporter.providers.shared.parsing import currency, invalid, mapping, optional_amount

FIGURES = ("balance", "credit_limit", "pending", "available_credit")


@dataclass(frozen=True, kw_only=True)
class TelnyxSettings(ProviderSettings):
    api_key: Secret = secret(help="API v2 key")


class Telnyx(Provider[TelnyxSettings]):
    name = "telnyx"
    default_base_url = "https://api.telnyx.com"
    settings_type = TelnyxSettings
    # 10009: authentication failed; 10010: authorization failed.
    code_reasons: ClassVar[Mapping[str, Reason]] = {"10009": Reason.AUTH, "10010": Reason.AUTH}

    def request(self) -> Request:
        return Request(
            f"{self.base_url}/v2/balance",
            {"Authorization": f"Bearer {self.settings.api_key.reveal()}"},
        )

    def parse(self, response: Response) -> Reading:
        data = mapping(mapping(response.json(), "response").get("data"), "data")
        if not any(data.get(key) is not None for key in FIGURES):
            raise invalid("data holds none of " + ", ".join(FIGURES))
        return Reading(
            currency=currency(data, "currency", "data"),
            balance=optional_amount(data, "balance", "data"),
            credit_limit=optional_amount(data, "credit_limit", "data"),
            pending=optional_amount(data, "pending", "data"),
            available_credit=optional_amount(data, "available_credit", "data"),
        )

    def error_detail(self, body: dict[str, Any]) -> ErrorDetail:
        return json_api_error(body)
