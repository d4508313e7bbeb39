"""DIDWW (API v3): GET /v3/balance with the key in ``Api-Key``; a JSON:API document.

``data`` is the singleton ``balances`` resource with three decimal strings: ``balance`` (the
prepaid money), ``credit`` (the credit line granted, our credit limit) and ``total_balance``
(balance + credit, our available credit; DIDWW's own words swap the meanings). The body
names no currency: the account's ``currency`` setting labels it. Errors are JSON:API error
documents, ``{"errors": [{title, detail, code, status}]}``, codes and statuses as strings.
A key can be limited to "Access IPs": a call from elsewhere is refused like a wrong key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from balance_exporter.config.secret import Secret
from balance_exporter.config.settings import ProviderSettings, secret, setting
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import PollError, Reason
from balance_exporter.providers.base import (
    ErrorDetail,
    Problem,
    Provider,
    Request,
    Response,
    json_api_error,
)
from balance_exporter.providers.shared.parsing import amount, invalid, mapping, optional_amount

MEDIA_TYPE = "application/vnd.api+json"  # JSON:API's own; read as JSON like any other
# Put right after "HTTP 401": the provider's own text stays the end of the message.
ACCESS_IPS_HINT = " (a wrong key, or this host's address is not in the key's Access IPs)"


@dataclass(frozen=True, kw_only=True)
class DidwwSettings(ProviderSettings):
    api_key: Secret = secret(help="API v3 key")
    currency: str = setting(
        default="USD", pattern=r"[A-Z]{3}", help="the ISO 4217 code the account is billed in"
    )


class Didww(Provider[DidwwSettings]):
    name = "didww"
    default_base_url = "https://api.didww.com"
    settings_type = DidwwSettings

    @classmethod
    def check(
        cls, values: Mapping[str, object], given: frozenset[str], base_url: str | None
    ) -> list[Problem]:
        # DIDWW's pages name https://api.didww.com/v3 as the server; the path is added here.
        parts = urlsplit(base_url or "")
        if parts.path.rstrip("/").endswith("/v3"):
            host = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')[: -len('/v3')]}"
            return [("base_url", f"must not end in /v3, which is added to it: use {host}")]
        return []

    def request(self) -> Request:
        return Request(
            f"{self.base_url}/v3/balance",
            {
                "Accept": MEDIA_TYPE,
                # What the documented request and DIDWW's SDKs send, on a GET too.
                "Content-Type": MEDIA_TYPE,
                "Api-Key": self.settings.api_key.reveal(),
            },
        )

    def parse(self, response: Response) -> Reading:
        data = mapping(mapping(response.json(), "response").get("data"), "data")
        kind = data.get("type")
        if kind != "balances":  # another resource, or a collection where the singleton was due
            shown = repr(kind[:40]) if isinstance(kind, str) else "missing or not a string"
            raise invalid(f"data.type is {shown}, expected 'balances'")
        attributes = mapping(data.get("attributes"), "data.attributes")
        return Reading(
            currency=self.settings.currency,
            balance=amount(attributes.get("balance"), "data.attributes.balance"),
            credit_limit=optional_amount(attributes, "credit", "data.attributes"),
            available_credit=optional_amount(attributes, "total_balance", "data.attributes"),
        )

    def error_detail(self, body: dict[str, Any]) -> ErrorDetail:
        return json_api_error(body)  # no errors: as DIDWW's SDK, nothing more than the status

    def failure(self, detail: ErrorDetail, status: int) -> PollError:
        failure = super().failure(detail, status)
        if failure.reason is Reason.AUTH:
            head = f"HTTP {status}"
            failure.message = head + ACCESS_IPS_HINT + failure.message[len(head) :]
        return failure
