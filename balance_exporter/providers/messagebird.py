"""MessageBird (Bird Connectivity Platform): GET /balance with ``Authorization: AccessKey``.

``type`` names the unit of ``amount``: ``credits``, a currency word (``euros``, ``pounds``,
``dollars``) or an ISO code; an unknown word fails the poll rather than guess a currency.
A postpaid account always reports 0, which is no empty wallet: it gets no balance series.
Errors are ``{"errors": [{code, description, parameter}]}`` with integer codes, classified on
the HTTP status (newer MessageBird pages deprecate the codes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from balance_exporter.config.secret import Secret
from balance_exporter.config.settings import ProviderSettings, secret
from balance_exporter.metrics.reading import Reading
from balance_exporter.providers.base import (
    ErrorDetail,
    Provider,
    Request,
    Response,
    first_error,
    text_of,
)
from balance_exporter.providers.shared.parsing import (
    amount,
    invalid,
    mapping,
    optional_text,
    type_name,
)

# The unit words of ``type`` and the label each stands for.
UNITS = {"credits": "credits", "euros": "EUR", "pounds": "GBP", "dollars": "USD"}
ISO_CODE = re.compile(r"[A-Z]{3}")
PAYMENTS = ("prepaid", "postpaid")
POSTPAID_NOTE = "postpaid account: MessageBird reports amount 0 for it, so no balance series"


@dataclass(frozen=True, kw_only=True)
class MessagebirdSettings(ProviderSettings):
    access_key: Secret = secret(help="a live access key, or a test_ one")


class Messagebird(Provider[MessagebirdSettings]):
    name = "messagebird"
    default_base_url = "https://rest.messagebird.com"
    settings_type = MessagebirdSettings

    def request(self) -> Request:
        # Never ?access_key=: the API takes it, but it puts the secret in the URL.
        return Request(
            f"{self.base_url}/balance",
            {
                "Authorization": f"AccessKey {self.settings.access_key.reveal()}",
                "Accept": "application/json",
            },
        )

    def parse(self, response: Response) -> Reading:
        body = mapping(response.json(), "response")
        payment = optional_text(body, "payment", "response")
        if payment not in PAYMENTS:
            found = "missing" if payment is None else repr(payment[:20])
            raise invalid(f"response.payment is {found}, expected prepaid or postpaid")
        unit = _unit(body.get("type"))
        if "amount" not in body:
            raise invalid("response has no amount field")
        balance = amount(body["amount"], "amount")  # checked for postpaid too: garbage is garbage
        if payment == "postpaid":
            return Reading(currency=unit, note=POSTPAID_NOTE)
        return Reading(currency=unit, balance=balance)

    def error_detail(self, body: dict[str, Any]) -> ErrorDetail:
        first = first_error(body)  # the first is reported; the others say less

        return ErrorDetail(text_of(first.get("code")), text_of(first.get("description")))


def _unit(value: Any) -> str:
    """The currency label for ``type``: a unit word's, or the ISO code itself."""
    if value is None:
        raise invalid("response has no type field")
    if not isinstance(value, str):
        raise invalid(f"response.type is {type_name(value)}, expected a unit word or an ISO code")
    if value in UNITS:
        return UNITS[value]
    if ISO_CODE.fullmatch(value):
        return value
    raise invalid(f"response.type is not a known unit: {value[:20]!r}")
