"""Infobip: GET {base_url}/account/1/balance with ``Authorization: App <api_key>``.

Every account has its own API host (``https://<id>.api.infobip.com``), so ``base_url`` is
required. The answer is ``{"balance": 47.79134, "currency": "EUR"}``; errors come in the legacy
envelope ``{"requestError": {"serviceException": {"messageId", "text"}}}`` and are classified on
``messageId``. Newer Infobip products answer ``{"errorCode", "description", ...}``: read too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from balance_exporter.config.secret import Secret
from balance_exporter.config.settings import ProviderSettings, secret
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import PollError, Reason
from balance_exporter.providers.base import (
    ErrorDetail,
    Problem,
    Provider,
    Request,
    Response,
    text_of,
)
from balance_exporter.providers.shared.parsing import amount, currency, invalid, mapping

BASE_URL_REQUIRED = (
    "is required: every Infobip account has its own API host,"
    " https://<id>.api.infobip.com, shown in the web portal"
)
EXPIRY_HINT = " (Infobip API keys stop working on their expiry date)"
SCOPE_HINT = " (the API key needs the scope account-management:manage)"


@dataclass(frozen=True, kw_only=True)
class InfobipSettings(ProviderSettings):
    api_key: Secret = secret(help="API key, sent as Authorization: App <key>")


class Infobip(Provider[InfobipSettings]):
    name = "infobip"
    # A placeholder the contract asks for, never polled: check() requires base_url.
    default_base_url = "https://xxxxx.api.infobip.com"
    settings_type = InfobipSettings
    code_reasons: ClassVar[Mapping[str, Reason]] = {
        "UNAUTHORIZED": Reason.AUTH,
        "FORBIDDEN": Reason.AUTH,
        "NOT_FOUND": Reason.CLIENT_ERROR,
        "TOO_MANY_REQUESTS": Reason.RATE_LIMITED,
        "GENERAL_ERROR": Reason.SERVER_ERROR,
    }

    @classmethod
    def check(
        cls, values: Mapping[str, object], given: frozenset[str], base_url: str | None
    ) -> list[Problem]:
        return [] if base_url else [("base_url", BASE_URL_REQUIRED)]

    def request(self) -> Request:
        return Request(
            f"{self.base_url}/account/1/balance",
            {
                "Authorization": f"App {self.settings.api_key.reveal()}",
                # Without it the API may answer XML.
                "Accept": "application/json",
            },
        )

    def parse(self, response: Response) -> Reading:
        body = mapping(response.json(), "response")
        if "balance" not in body:
            raise invalid("response has no balance field")
        # The account's own currency, never assumed: a balance without it means nothing.
        code = currency(body, "currency", "response")
        if code is None:
            raise invalid("response has no currency")
        return Reading(currency=code, balance=amount(body["balance"], "balance"))

    def error_detail(self, body: dict[str, Any]) -> ErrorDetail:
        request_error = body.get("requestError")
        if isinstance(request_error, dict):
            exception = request_error.get("serviceException")
            if isinstance(exception, dict):
                return ErrorDetail(
                    text_of(exception.get("messageId")), text_of(exception.get("text"))
                )
            return ErrorDetail()
        # The newer shape, not documented for this call.
        return ErrorDetail(text_of(body.get("errorCode")), text_of(body.get("description")))

    def error(self, response: Response) -> PollError:
        failure = super().error(response)
        # 403 is a key without the scope (its messageId varies); UNAUTHORIZED otherwise is a
        # key refused, and keys expire on a set date.
        if response.status == 403 and failure.code in ("FORBIDDEN", "UNAUTHORIZED"):
            failure.message += SCOPE_HINT
        elif failure.code == "UNAUTHORIZED":
            failure.message += EXPIRY_HINT
        return failure
