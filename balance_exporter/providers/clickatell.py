"""Clickatell, two APIs, picked by the account's ``api`` setting.

``api: rest`` (default): GET /rest/account/balance, X-Version 1, Bearer token; the balance is
a number of credits, so the currency label is ``credits`` unless the account sets one.
``api: platform`` (One API): GET /public-client/balance on the platform host, the key alone
in Authorization; its error codes say more than its statuses (code 43, the rate limit,
comes as HTTP 400).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from balance_exporter.config.secret import Secret
from balance_exporter.config.settings import ProviderSettings, secret, setting
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import Reason
from balance_exporter.providers.base import ErrorDetail, Provider, Request, Response, text_of
from balance_exporter.providers.shared.parsing import amount, currency, mapping


@dataclass(frozen=True, kw_only=True)
class ClickatellSettings(ProviderSettings):
    api_key: Secret = secret(help="REST auth token or platform API key")
    api: str = setting(choices=("rest", "platform"), default="rest")
    currency: str | None = setting(required=False, help="currency label for REST credits")


class Clickatell(Provider[ClickatellSettings]):
    """What both APIs share: the settings and the error bodies."""

    name = "clickatell"
    settings_type = ClickatellSettings
    # Codes come zero-padded ("001") or bare (43); they are compared without the zeros.
    code_reasons: ClassVar[Mapping[str, Reason]] = {"1": Reason.AUTH, "7": Reason.AUTH}

    @classmethod
    def variants(cls) -> Mapping[str, type[Provider[Any]]]:
        return {"rest": ClickatellRest, "platform": ClickatellPlatform}

    @classmethod
    def adapter_for(cls, settings: ProviderSettings) -> type[Provider[Any]]:
        assert isinstance(settings, ClickatellSettings)
        return cls.variants()[settings.api]

    def error_detail(self, body: dict[str, Any]) -> ErrorDetail:
        error = body.get("error")
        if isinstance(error, dict):
            code, text = error.get("code"), error.get("description")
        else:  # {"errorCode", "errorDescription"}, or {"messages": [], "error": "text"}
            code = body.get("errorCode", body.get("code"))
            text = body.get("errorDescription") or error or body.get("message")
        return ErrorDetail(_bare(text_of(code)), text_of(text))


class ClickatellRest(Clickatell):
    variant = "rest"
    default_base_url = "https://api.clickatell.com"

    def request(self) -> Request:
        return Request(
            f"{self.base_url}/rest/account/balance",
            {
                "X-Version": "1",
                "Accept": "application/json",
                "Authorization": f"Bearer {self.settings.api_key.reveal()}",
            },
        )

    def parse(self, response: Response) -> Reading:
        data = mapping(mapping(response.json(), "response").get("data"), "data")
        return Reading(
            currency=self.settings.currency or "credits",
            balance=amount(data.get("balance"), "data.balance"),
        )


class ClickatellPlatform(Clickatell):
    variant = "platform"
    default_base_url = "https://platform.clickatell.com"
    code_reasons: ClassVar[Mapping[str, Reason]] = {
        "1": Reason.AUTH,  # HTTP 401: the key is wrong
        "2": Reason.AUTH,  # HTTP 400: account not active, for the operator to fix
        "3": Reason.AUTH,  # HTTP 400: integration not active, for the operator to fix
        "7": Reason.AUTH,  # HTTP 401: IP not approved
        "19": Reason.SERVER_ERROR,  # HTTP 503: try again later
        "43": Reason.RATE_LIMITED,  # HTTP 400
    }

    def request(self) -> Request:
        return Request(
            f"{self.base_url}/public-client/balance",
            {"Authorization": self.settings.api_key.reveal()},
        )

    def parse(self, response: Response) -> Reading:
        body = mapping(response.json(), "response")
        return Reading(
            currency=self.settings.currency or currency(body, "currency", "response"),
            balance=amount(body.get("balance"), "balance"),
        )


def _bare(code: str | None) -> str | None:
    """A code without its leading zeros ("007" is 7); ASCII digits only, and no int(), which
    refuses other digits ("²") and very long strings."""
    if code is None:
        return None
    digits = code.strip()
    if digits.isascii() and digits.isdigit():
        return digits.lstrip("0") or "0"
    return code
