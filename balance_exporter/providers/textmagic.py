"""Textmagic: GET /api/v2/user with the X-TM-Username and X-TM-Key headers.

The balance is a JSON float in the user's account currency (``currency.id``). Sub-accounts
spend the parent account's balance, and a regular sub-account user may be refused account
data with a 401 although its key is valid. Errors are ``{"code", "message", "errors"}`` with
``code`` repeating the HTTP status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from balance_exporter.config.secret import Secret
from balance_exporter.config.settings import ProviderSettings, secret, setting
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import PollError
from balance_exporter.providers.base import ErrorDetail, Provider, Request, Response, text_of
from balance_exporter.providers.shared.parsing import (
    amount,
    currency,
    invalid,
    mapping,
    optional_text,
    type_name,
)

# Textmagic's 401 means bad credentials and "no rights for this action" alike.
UNAUTHORIZED_HINT = (
    "a wrong username or key, a v1 key, or a sub-account user without permission"
    " to read the account"
)
PARENT = "P"  # subaccountType of the parent user, who holds the balance


@dataclass(frozen=True, kw_only=True)
class TextmagicSettings(ProviderSettings):
    username: str = setting(help="the Textmagic username the key belongs to")
    api_key: Secret = secret(help="API v2 key (v1 keys do not work)")


class Textmagic(Provider[TextmagicSettings]):
    name = "textmagic"
    default_base_url = "https://rest.textmagic.com"
    settings_type = TextmagicSettings

    def request(self) -> Request:
        return Request(
            f"{self.base_url}/api/v2/user",
            {
                "X-TM-Username": self.settings.username,
                "X-TM-Key": self.settings.api_key.reveal(),
                "Accept": "application/json",
            },
        )

    def parse(self, response: Response) -> Reading:
        body = mapping(response.json(), "response")
        if "balance" not in body:
            raise invalid("response has no balance field")
        code = currency(mapping(body.get("currency"), "currency"), "id", "currency")
        if code is None:
            raise invalid("currency.id is missing")
        return Reading(
            currency=code,
            balance=amount(body["balance"], "balance"),
            provider_account_id=_account_id(body),
        )

    def error_detail(self, body: dict[str, Any]) -> ErrorDetail:
        # ``code`` only repeats the HTTP status: the message is all it adds.
        return ErrorDetail(text=text_of(body.get("message")))

    def error(self, response: Response) -> PollError:
        failure = super().error(response)
        if response.status == 401:
            failure.message = failure.message.replace(
                "HTTP 401", f"HTTP 401 ({UNAUTHORIZED_HINT})", 1
            )
        return failure


def _account_id(body: dict[str, Any]) -> str | None:
    """The user id, when the user is the parent: a sub-account user's id names that user, not
    the account whose balance it reports."""
    if optional_text(body, "subaccountType", "response") != PARENT or body.get("id") is None:
        return None
    user_id = body["id"]
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise invalid(f"response.id is {type_name(user_id)}, expected an integer")
    return str(user_id)
