"""Vonage (formerly Nexmo): GET /account/get-balance with HTTP Basic api_key:api_secret.

The answer is ``{"value": 10.17127500, "autoReload": false}``: a JSON number with up to eight
decimals (read exactly, never through float) and no currency field, because the balance is
always in euros. The documented 401 is ``{"error-code": "401", "error-code-label": ...}``, the
code a string; Vonage's newer APIs answer RFC 7807 problems ``{type, title, detail, instance}``
whose code is the fragment of ``type``. The secret could also travel in the query string or
the path; only the header is ever used, so it never reaches a URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from aiohttp import encode_basic_auth

from balance_exporter.config.secret import Secret
from balance_exporter.config.settings import ProviderSettings, secret, setting
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import Reason
from balance_exporter.providers.base import ErrorDetail, Provider, Request, Response, text_of
from balance_exporter.providers.shared.parsing import amount, invalid, mapping

CURRENCY = "EUR"  # documented: the balance is in EUR whatever the account is invoiced in
# The code of the documented "error-code" body for a success (the Account API's top-up says
# so); any other code in a 200 without a value is the error it names.
SUCCESS_CODE = "200"


@dataclass(frozen=True, kw_only=True)
class VonageSettings(ProviderSettings):
    # No colon: it is the user half of HTTP Basic.
    api_key: str = setting(pattern=r"[0-9A-Za-z]+", help="letters and digits, e.g. abcd1234")
    api_secret: Secret = secret(help="the API secret paired with api_key")


class Vonage(Provider[VonageSettings]):
    name = "vonage"
    default_base_url = "https://rest.nexmo.com"
    settings_type = VonageSettings
    code_reasons: ClassVar[Mapping[str, Reason]] = {
        "401": Reason.AUTH,  # get-balance's own "authentication failed"
        # RFC 7807 codes of the generic catalogue that mean the credentials will not do;
        # invalid-api-key comes as 404 and account-suspended with no documented status.
        "unauthorized": Reason.AUTH,
        "invalid-api-key": Reason.AUTH,
        "forbidden": Reason.AUTH,
        "unprovisioned": Reason.AUTH,
        "account-suspended": Reason.AUTH,
        "rate-limit": Reason.RATE_LIMITED,
    }

    def request(self) -> Request:
        settings = self.settings
        return Request(
            f"{self.base_url}/account/get-balance",
            {
                "Authorization": encode_basic_auth(settings.api_key, settings.api_secret.reveal()),
                # The same path answers XML (<accountBalance>) unless JSON is asked for.
                "Accept": "application/json",
            },
        )

    def parse(self, response: Response) -> Reading:
        body = mapping(response.json(), "response")
        if "value" not in body:
            detail = self.error_detail(body)
            if detail.code not in (None, SUCCESS_CODE):  # an error body sent with a 2xx
                raise self.failure(detail, response.status)
            raise invalid("response has no value field")
        return Reading(currency=CURRENCY, balance=amount(body["value"], "value"))

    def error_detail(self, body: dict[str, Any]) -> ErrorDetail:
        if "error-code" in body or "error-code-label" in body:
            return ErrorDetail(
                text_of(body.get("error-code")), text_of(body.get("error-code-label"))
            )
        # RFC 7807: https://developer.vonage.com/api-errors#unauthorized names "unauthorized".
        fragment = (text_of(body.get("type")) or "").partition("#")[2]
        return ErrorDetail(
            fragment or None, text_of(body.get("detail")) or text_of(body.get("title"))
        )
