"""Plivo: GET /v1/Account/{auth_id}/ with HTTP Basic auth; the balance is ``cash_credits``.

The Auth ID names the account twice, in the path and as the Basic user, as Plivo's SDKs
build it. ``cash_credits`` is a decimal string and the answer names no currency (Plivo
documents it as USD): the ``currency`` setting labels it. Errors are
``{"api_id": ..., "error": "<text>"}`` with no code of their own; a 401 may lack ``api_id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import encode_basic_auth

from balance_exporter.config.secret import Secret
from balance_exporter.config.settings import ProviderSettings, secret, setting
from balance_exporter.metrics.reading import Reading
from balance_exporter.providers.base import ErrorDetail, Provider, Request, Response, text_of
from balance_exporter.providers.shared.parsing import amount, invalid, mapping, optional_text


@dataclass(frozen=True, kw_only=True)
class PlivoSettings(ProviderSettings):
    # The SDKs' own check (plivo/utils/validators.py); it also keeps the path segment plain.
    auth_id: str = setting(pattern=r"[MS]A[A-Z0-9]{18}", help="MA or SA followed by 18 A-Z0-9")
    auth_token: Secret = secret(help="the Auth Token of that Auth ID")
    currency: str = setting(default="USD", pattern=r"[A-Z]{3}", help="ISO 4217 code, e.g. USD")


class Plivo(Provider[PlivoSettings]):
    name = "plivo"
    default_base_url = "https://api.plivo.com"
    settings_type = PlivoSettings

    def request(self) -> Request:
        settings = self.settings
        return Request(
            # The trailing slash is part of the documented path.
            f"{self.base_url}/v1/Account/{settings.auth_id}/",
            {
                "Authorization": encode_basic_auth(settings.auth_id, settings.auth_token.reveal()),
                "Accept": "application/json",
            },
        )

    def parse(self, response: Response) -> Reading:
        body = mapping(response.json(), "response")
        if "cash_credits" not in body:
            raise invalid("response has no cash_credits field")
        return Reading(
            currency=self.settings.currency,
            balance=amount(body["cash_credits"], "cash_credits"),
            provider_account_id=optional_text(body, "auth_id", "response"),
        )

    def error_detail(self, body: dict[str, Any]) -> ErrorDetail:
        # No code of its own: the status decides, ``error`` says why.
        return ErrorDetail(text=text_of(body.get("error")))
