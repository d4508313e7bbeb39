"""What every provider adapter supplies, and the shared shapes it works with.

An adapter describes its config fields, builds the one request a poll sends and reads
the answer. Sending, timeouts, size limits, rate-limit headers and the generic reading of
HTTP statuses live in polling.transport and polling.poll, once for all providers.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from balance_exporter.config.account import AccountConfig
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import PollError, Reason, reason_for_status
from balance_exporter.polling.transport import Request as Request
from balance_exporter.polling.transport import Response as Response
from balance_exporter.polling.transport import one_line


@dataclass(frozen=True)
class Field:
    """A provider-specific config key."""

    name: str
    secret: bool = False
    required: bool = True
    choices: tuple[str, ...] = ()
    default: str | None = None
    pattern: re.Pattern[str] | None = None
    help: str = ""


@dataclass(frozen=True)
class ErrorDetail:
    """What a provider's error body says: its own code and a short human text."""

    code: str | None = None
    text: str | None = None


class Provider(ABC):
    name: ClassVar[str]
    default_base_url: ClassVar[str]
    fields: ClassVar[tuple[Field, ...]]
    # The provider's own error codes that say more than the HTTP status does.
    code_reasons: ClassVar[Mapping[str, Reason]] = {}

    def __init__(self, account: AccountConfig) -> None:
        self.account = account

    @classmethod
    def check(cls, settings: Mapping[str, str], secrets: frozenset[str]) -> list[tuple[str, str]]:
        """Cross-field problems as (key, message) pairs; single fields are checked generically."""
        return []

    @property
    def base_url(self) -> str:
        return (self.account.base_url or self.default_base_url).rstrip("/")

    @abstractmethod
    def request(self) -> Request:
        """The request that reads the balance."""

    @abstractmethod
    def parse(self, response: Response) -> Reading:
        """Read a 2xx answer; raise PollError when it is not a valid balance."""

    def error_detail(self, body: dict[str, Any]) -> ErrorDetail:
        """The provider's code and text from an error body that is a JSON object."""
        return ErrorDetail()

    def error(self, response: Response) -> PollError:
        """Classify a non-2xx answer: the provider's code where it has one, else the status."""
        try:
            body = response.json()
        except PollError:
            body = None  # HTML or empty error pages say nothing more than the status
        detail = self.error_detail(body) if isinstance(body, dict) else ErrorDetail()
        return self.failure(detail, response.status)

    def failure(self, detail: ErrorDetail, status: int) -> PollError:
        reason = self.code_reasons.get(detail.code or "", None) or reason_for_status(status)
        message = f"HTTP {status}"
        if detail.code:
            message += f", {self.name} code {detail.code}"
        if detail.text:
            message += f": {one_line(detail.text)}"
        return PollError(reason, message, status=status, code=detail.code)


def text_of(value: Any) -> str | None:
    """A code or message that may come as a string or a number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int):
        return str(value)
    return None
