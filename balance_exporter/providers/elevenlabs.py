"""ElevenLabs: GET /v1/user/subscription with ``xi-api-key``; the balance is a count of credits.

The fields keep their old "character" names but count credits: the balance is
``character_limit - character_count``, below zero once usage-based billing lets the count pass
the limit. ``next_character_count_reset_unix`` (or null) is when the period starts afresh.
Errors are FastAPI's ``{"detail": ...}``: an object whose ``status`` names the error (newer
bodies add ``type`` and ``code``), a plain string, or the validation list of a 422.
``quota_exceeded`` comes as a 401 but says the credits are spent, not that the key is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from balance_exporter.config.secret import Secret
from balance_exporter.config.settings import ProviderSettings, secret
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import PollError, Reason
from balance_exporter.providers.base import ErrorDetail, Provider, Request, Response, text_of
from balance_exporter.providers.shared.parsing import amount, invalid, mapping, type_name

UNIT = "credits"
PERMISSION = "user_read"
# What the failure adds to ElevenLabs' own text, by its code.
HINTS = {
    "missing_permissions": f"the key is valid but lacks the {PERMISSION} permission",
    "quota_exceeded": "the period's credits are used up; the key itself was accepted",
}
# Subscription states in which ElevenLabs may refuse work although credits are left (the docs'
# suggestion, not a documented block): logged as a note, not exported as credit_blocked.
UNSETTLED = ("past_due", "incomplete", "free_disabled")


@dataclass(frozen=True, kw_only=True)
class ElevenLabsSettings(ProviderSettings):
    api_key: Secret = secret(help=f"xi-api-key, with the {PERMISSION} permission")


class ElevenLabs(Provider[ElevenLabsSettings]):
    name = "elevenlabs"
    default_base_url = "https://api.elevenlabs.io"
    settings_type = ElevenLabsSettings
    code_reasons: ClassVar[Mapping[str, Reason]] = {
        "invalid_api_key": Reason.AUTH,
        "missing_permissions": Reason.AUTH,
        # Neither the key (auth) nor the request rate: the nearest reason is the client's.
        "quota_exceeded": Reason.CLIENT_ERROR,
        "too_many_concurrent_requests": Reason.RATE_LIMITED,
        "system_busy": Reason.RATE_LIMITED,
    }

    def request(self) -> Request:
        return Request(
            f"{self.base_url}/v1/user/subscription",
            {"xi-api-key": self.settings.api_key.reveal(), "Accept": "application/json"},
        )

    def parse(self, response: Response) -> Reading:
        body = mapping(response.json(), "response")
        limit = _credits(body, "character_limit")
        used = _credits(body, "character_count")
        status = body.get("status")
        note = None
        if isinstance(status, str) and status in UNSETTLED:
            note = f"subscription status is {status}: ElevenLabs may refuse requests"
        return Reading(
            currency=UNIT,
            balance=amount(limit - used, "character_limit - character_count"),
            quota_reset=_reset_time(body.get("next_character_count_reset_unix")),
            note=note,
        )

    def error_detail(self, body: dict[str, Any]) -> ErrorDetail:
        detail = body.get("detail")
        if isinstance(detail, dict):
            code = text_of(detail.get("status")) or text_of(detail.get("code"))
            return ErrorDetail(code, text_of(detail.get("message")))
        if isinstance(detail, str):
            return ErrorDetail(text=detail)
        # A 422: FastAPI's list of {loc, msg, type}; the status says what it is.
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            return ErrorDetail(text=text_of(detail[0].get("msg")))
        return ErrorDetail()

    def error(self, response: Response) -> PollError:
        failure = super().error(response)
        hint = HINTS.get(failure.code or "")
        if hint:
            failure.message += f" ({hint})"
        return failure


def _credits(body: dict[str, Any], key: str) -> Decimal:
    if body.get(key) is None:
        raise invalid(f"response has no {key}")
    return amount(body[key], key)


def _reset_time(value: Any) -> float | None:
    """Unix seconds, or null where the plan has no reset."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        kind = "a decimal number" if isinstance(value, Decimal) else type_name(value)
        raise invalid(f"next_character_count_reset_unix is {kind}, expected whole seconds")
    if value < 0:
        raise invalid("next_character_count_reset_unix is before 1970")
    return float(value)
