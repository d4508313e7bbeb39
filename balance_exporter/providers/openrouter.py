"""OpenRouter, two APIs picked by the account's ``api`` setting; both answer in US dollars.

``api: credits`` (default): GET /api/v1/credits, account-wide: the balance is
``total_credits - total_usage``. Only a management key may read it: an inference key gets a
403, and the failure says what to do about it.
``api: key``: GET /api/v1/key, any key: the balance is the key's own ``limit_remaining``,
which may exceed what the account holds. A key without a cap (``limit: null``) has no
balance series, and the reading says why.
Both take a Bearer key; errors are ``{"error": {"code", "message", "metadata"?}}``, where
``code`` repeats the HTTP status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Inexact, localcontext
from typing import Any

from balance_exporter.config.secret import Secret
from balance_exporter.config.settings import ProviderSettings, secret, setting
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import PollError
from balance_exporter.providers.base import ErrorDetail, Provider, Request, Response, text_of
from balance_exporter.providers.shared.parsing import amount, invalid, mapping

CURRENCY = "USD"
MANAGEMENT_KEY_HINT = "/credits needs a management key, or use api: key"
NO_LIMIT_NOTE = (
    "the key has no spending limit (limit null): no balance series;"
    " api: credits with a management key reads the account's balance"
)


@dataclass(frozen=True, kw_only=True)
class OpenrouterSettings(ProviderSettings):
    api_key: Secret = secret(help="management key for api: credits; any API key for api: key")
    api: str = setting(choices=("credits", "key"), default="credits")


class Openrouter(Provider[OpenrouterSettings]):
    """What both APIs share: the settings, the host and the error bodies."""

    name = "openrouter"
    default_base_url = "https://openrouter.ai"
    settings_type = OpenrouterSettings

    @classmethod
    def variants(cls) -> Mapping[str, type[Provider[Any]]]:
        return {"credits": OpenrouterCredits, "key": OpenrouterKey}

    @classmethod
    def adapter_for(cls, settings: ProviderSettings) -> type[Provider[Any]]:
        assert isinstance(settings, OpenrouterSettings)
        return cls.variants()[settings.api]

    def _request(self, path: str) -> Request:
        return Request(
            f"{self.base_url}/api/v1/{path}",
            {
                "Authorization": f"Bearer {self.settings.api_key.reveal()}",
                "Accept": "application/json",
            },
        )

    def error_detail(self, body: dict[str, Any]) -> ErrorDetail:
        # metadata, openrouter_metadata and user_id say nothing about the balance: left out.
        error = body.get("error")
        if not isinstance(error, dict):
            return ErrorDetail()
        return ErrorDetail(text_of(error.get("code")), text_of(error.get("message")))

    def failure(self, detail: ErrorDetail, status: int) -> PollError:
        if detail.code == str(status):  # the code repeats the status: no news in the message
            detail = ErrorDetail(None, detail.text)
        return super().failure(detail, status)


class OpenrouterCredits(Openrouter):
    variant = "credits"

    def request(self) -> Request:
        return self._request("credits")

    def parse(self, response: Response) -> Reading:
        data = mapping(mapping(response.json(), "response").get("data"), "data")
        credits = amount(data.get("total_credits"), "data.total_credits")
        usage = amount(data.get("total_usage"), "data.total_usage")
        with localcontext() as exact:
            exact.traps[Inexact] = True  # a difference rounded would no longer be the balance
            try:
                balance = credits - usage
            except Inexact:
                raise invalid("data.total_credits - data.total_usage has too many digits") from None
        return Reading(currency=CURRENCY, balance=balance)

    def error(self, response: Response) -> PollError:
        failure = super().error(response)
        if response.status == 403:  # the one documented cause; put first, so never cut short
            failure.message = failure.message.replace(
                f"HTTP {response.status}", f"HTTP {response.status} ({MANAGEMENT_KEY_HINT})", 1
            )
        return failure


class OpenrouterKey(Openrouter):
    variant = "key"

    def request(self) -> Request:
        return self._request("key")

    def parse(self, response: Response) -> Reading:
        data = mapping(mapping(response.json(), "response").get("data"), "data")
        if "limit" not in data:
            raise invalid("data has no limit field")
        if data["limit"] is None:
            return Reading(currency=CURRENCY, note=NO_LIMIT_NOTE)
        amount(data["limit"], "data.limit")  # garbage in the cap is a broken answer too
        remaining = data.get("limit_remaining")
        if remaining is None:
            raise invalid("data.limit_remaining is missing though data.limit is set")
        return Reading(currency=CURRENCY, balance=amount(remaining, "data.limit_remaining"))
