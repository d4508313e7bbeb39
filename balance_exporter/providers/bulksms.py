"""BulkSMS: GET /v1/profile with HTTP Basic auth; the balance is a number of credits.

The user is the account's username, or an API token id with its secret as the password: both
are sent the same way. ``credits.balance`` is a JSON float, read exactly as its text; the
daily message ``quota`` is not credits and is left alone. Errors are RFC 7807 problem
documents whose ``type`` URL ends in a fragment naming the error (``…/errors#not-found``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from aiohttp import encode_basic_auth

from balance_exporter.config.secret import Secret
from balance_exporter.config.settings import ProviderSettings, secret, setting
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import Reason
from balance_exporter.providers.base import (
    ErrorDetail,
    Problem,
    Provider,
    Request,
    Response,
    text_of,
)
from balance_exporter.providers.shared.parsing import amount, invalid, mapping, optional_text

HOST = "api.bulksms.com"
UNIT = "credits"


@dataclass(frozen=True, kw_only=True)
class BulkSmsSettings(ProviderSettings):
    # HTTP Basic cannot carry a colon in the user part.
    username: str = setting(pattern=r"[^:\s]+", help="username or API token id, no colon")
    password: Secret = secret(help="password or API token secret")


class BulkSms(Provider[BulkSmsSettings]):
    name = "bulksms"
    default_base_url = f"https://{HOST}"
    settings_type = BulkSmsSettings
    # The fragment of the problem's ``type``; the others (bad-request, validation, not-found,
    # insufficient-credits) say what their status already says.
    code_reasons: ClassVar[Mapping[str, Reason]] = {"authentication-failed": Reason.AUTH}

    @classmethod
    def check(
        cls, values: Mapping[str, object], given: frozenset[str], base_url: str | None
    ) -> list[Problem]:
        parts = urlsplit(base_url or "")
        if parts.scheme == "http" and parts.hostname == HOST:
            # Documented as deprecated: it may answer 301, which the exporter never follows.
            return [("base_url", f"plain http is deprecated by BulkSMS: use https://{HOST}")]
        return []

    def request(self) -> Request:
        settings = self.settings
        return Request(
            f"{self.base_url}/v1/profile",
            {
                "Authorization": encode_basic_auth(settings.username, settings.password.reveal()),
                "Accept": "application/json",
            },
        )

    def parse(self, response: Response) -> Reading:
        body = mapping(response.json(), "response")
        credits = mapping(body.get("credits"), "credits")
        if "balance" not in credits:
            raise invalid("credits has no balance field")
        return Reading(
            currency=UNIT,
            balance=amount(credits["balance"], "credits.balance"),
            provider_account_id=optional_text(body, "id", "response"),
        )

    def error_detail(self, body: dict[str, Any]) -> ErrorDetail:
        # {type, title, status, detail?}: the type names the error, detail says the most.
        kind = body.get("type")
        code = None
        if isinstance(kind, str) and "#" in kind:
            code = kind.rsplit("#", 1)[1].strip() or None
        return ErrorDetail(code, _text(body.get("detail")) or _text(body.get("title")))


def _text(value: Any) -> str | None:
    """A problem member's text; a blank one (the spec's details end in a newline) says nothing."""
    text = text_of(value)
    return text.strip() or None if text is not None else None
