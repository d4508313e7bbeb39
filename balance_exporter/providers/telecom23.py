"""23 Telecom: GET /api/v1/user/balance with X-API-Key.

Quirks: an account in onboarding answers HTTP 200 ``{"status": false, "error": ...}``
(not ready, not a failure); a degraded cache answers HTTP 200 with X-Sms-Gateway-Status
or ``"unavailable": true`` and a balance that must not be believed; ``updated`` is UTC
without a zone; errors are classified on ``error_code``, never on the description.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from balance_exporter.config.secret import Secret
from balance_exporter.config.settings import ProviderSettings, secret
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import Reason
from balance_exporter.providers.base import ErrorDetail, Provider, Request, Response, text_of
from balance_exporter.providers.shared.parsing import (
    amount,
    currency,
    invalid,
    mapping,
    type_name,
    utc_timestamp,
)

DEGRADED_STATUSES = ("partial", "unavailable")
UPDATED_FORMAT = "%Y.%m.%d %H:%M:%S"


@dataclass(frozen=True, kw_only=True)
class Telecom23Settings(ProviderSettings):
    api_key: Secret = secret()


class Telecom23(Provider[Telecom23Settings]):
    name = "23telecom"
    default_base_url = "https://restlink23telecom.com"
    settings_type = Telecom23Settings
    code_reasons: ClassVar[Mapping[str, Reason]] = {
        "UNAUTHORIZED": Reason.AUTH,
        "INVALID_API_KEY": Reason.AUTH,
        "API_KEY_REVOKED": Reason.AUTH,
        "FORBIDDEN": Reason.AUTH,
        "PERMISSION_DENIED": Reason.AUTH,
        "RATE_LIMITED": Reason.RATE_LIMITED,
        "RATE_LIMIT_EXCEEDED": Reason.RATE_LIMITED,
        "TOO_MANY_REQUESTS": Reason.RATE_LIMITED,
        "INTERNAL_ERROR": Reason.SERVER_ERROR,
        "SERVICE_UNAVAILABLE": Reason.SERVER_ERROR,
    }

    def request(self) -> Request:
        return Request(
            f"{self.base_url}/api/v1/user/balance",
            {"X-API-Key": self.settings.api_key.reveal()},
        )

    def parse(self, response: Response) -> Reading:
        body = mapping(response.json(), "response")
        if body.get("status") is False:
            if body.get("error_code") is not None:
                raise self.failure(self.error_detail(body), response.status)
            return Reading(ready=False)  # onboarding: "Account is in setup process"

        gateway = response.headers.get("X-Sms-Gateway-Status", "").strip().lower()
        if gateway in DEGRADED_STATUSES or body.get("unavailable") is True:
            reason = response.headers.get("X-Sms-Gateway-Reason") or text_of(body.get("reason"))
            return Reading(degraded=True, degraded_reason=reason or gateway or "unavailable")

        blocked = body.get("credit_blocked", False)
        if not isinstance(blocked, bool):
            raise invalid(f"credit_blocked is {type_name(blocked)}, expected a boolean")
        updated = body.get("updated")
        return Reading(
            currency=currency(body, "currency", "response"),
            balance=amount(body.get("balance"), "balance"),
            credit_blocked=blocked,
            provider_updated=None
            if updated is None
            else utc_timestamp(updated, UPDATED_FORMAT, "updated"),
        )

    def error_detail(self, body: dict[str, Any]) -> ErrorDetail:
        return ErrorDetail(text_of(body.get("error_code")), text_of(body.get("description")))
