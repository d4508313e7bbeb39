"""Clickatell, two APIs.

``api: rest`` (default): GET /rest/account/balance, X-Version 1, Bearer token; the balance
is a number of credits, so the currency label is ``credits`` unless the account sets one.
``api: platform``: GET /public-client/balance on the platform host, the key alone in
Authorization; the rate limit answers HTTP 400 with error code 43.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import Reason
from balance_exporter.providers.base import ErrorDetail, Field, Provider, Request, Response, text_of
from balance_exporter.providers.parsing import amount, currency, mapping

REST_URL = "https://api.clickatell.com"
PLATFORM_URL = "https://platform.clickatell.com"


class Clickatell(Provider):
    name = "clickatell"
    default_base_url = REST_URL
    fields = (
        Field("api_key", secret=True, help="REST auth token or platform API key"),
        Field("api", required=False, choices=("rest", "platform"), default="rest"),
        Field("currency", required=False, help="currency label for REST credits"),
    )
    # Codes come zero-padded ("001") or bare (43); they are compared as integers.
    code_reasons: ClassVar[Mapping[str, Reason]] = {
        "1": Reason.AUTH,
        "7": Reason.AUTH,
        "43": Reason.RATE_LIMITED,
    }

    @property
    def platform(self) -> bool:
        return self.account.setting("api") == "platform"

    @property
    def base_url(self) -> str:
        default = PLATFORM_URL if self.platform else REST_URL
        return (self.account.base_url or default).rstrip("/")

    def request(self) -> Request:
        key = self.account.secret("api_key")
        if self.platform:
            return Request(f"{self.base_url}/public-client/balance", {"Authorization": key})
        return Request(
            f"{self.base_url}/rest/account/balance",
            {"X-Version": "1", "Accept": "application/json", "Authorization": f"Bearer {key}"},
        )

    def parse(self, response: Response) -> Reading:
        body = mapping(response.json(), "response")
        if self.platform:
            return Reading(
                currency=self.account.setting("currency") or currency(body, "currency", "response"),
                balance=amount(body.get("balance"), "balance"),
            )
        data = mapping(body.get("data"), "data")
        return Reading(
            currency=self.account.setting("currency") or "credits",
            balance=amount(data.get("balance"), "data.balance"),
        )

    def error_detail(self, body: dict[str, Any]) -> ErrorDetail:
        error = body.get("error")
        if isinstance(error, dict):
            code, text = error.get("code"), error.get("description")
        else:
            code = body.get("errorCode", body.get("code"))
            text = body.get("errorDescription") or error or body.get("message")
        return ErrorDetail(_bare(text_of(code)), text_of(text))


def _bare(code: str | None) -> str | None:
    return str(int(code)) if code is not None and code.strip().isdigit() else code
