"""What every provider adapter supplies, and the shared shapes it works with.

An adapter declares its settings (a frozen dataclass of config keys), builds the one request
a poll sends and reads the answer. Sending, timeouts, size limits, rate-limit headers and the
generic reading of HTTP statuses live in polling/, once for all providers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from balance_exporter.config.account import AccountConfig
from balance_exporter.config.settings import ProviderSettings
from balance_exporter.metrics.reading import Reading
from balance_exporter.polling.errors import PollError, Reason, reason_for_status
from balance_exporter.polling.transport import Request as Request
from balance_exporter.polling.transport import Response as Response
from balance_exporter.polling.transport import one_line

S = TypeVar("S", bound=ProviderSettings)

# A config problem found across keys: (the key, what is wrong).
Problem = tuple[str, str]


@dataclass(frozen=True)
class ErrorDetail:
    """What a provider's error body says: its own code and a short human text."""

    code: str | None = None
    text: str | None = None


class Provider(ABC, Generic[S]):
    """One provider's API. ``name`` is the config's ``provider:`` value and the label."""

    name: ClassVar[str]
    default_base_url: ClassVar[str]
    settings_type: ClassVar[type[ProviderSettings]] = ProviderSettings
    # For a provider with several APIs: the value of the setting that picks this one.
    variant: ClassVar[str] = ""
    # The provider's own error codes that say more than the HTTP status does.
    code_reasons: ClassVar[Mapping[str, Reason]] = {}

    def __init__(self, account: AccountConfig) -> None:
        if not isinstance(account.settings, self.settings_type):
            raise TypeError(f"{self.name} needs {self.settings_type.__name__}")
        self.account = account
        self.settings: S = account.settings  # type: ignore[assignment]  # checked just above

    @classmethod
    def variants(cls) -> Mapping[str, type[Provider[Any]]]:
        """Every API of this provider, by variant name ("" for a provider with one API)."""
        return {cls.variant: cls}

    @classmethod
    def adapter_for(cls, settings: ProviderSettings) -> type[Provider[Any]]:
        """The class that polls an account with these settings."""
        return cls

    @classmethod
    def check(
        cls, values: Mapping[str, object], given: frozenset[str], base_url: str | None
    ) -> list[Problem]:
        """Problems across keys; ``given`` names the keys present in the file (secrets that
        could not be read included). Single keys are checked by the config checker."""
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


def adapter(account: AccountConfig, providers: Mapping[str, type[Provider[Any]]]) -> Provider[Any]:
    """The adapter that polls ``account``, its API chosen by its settings."""
    return providers[account.provider].adapter_for(account.settings)(account)


def first_error(body: dict[str, Any]) -> dict[str, Any]:
    """The first object of the body's ``errors`` list; {} when there is none."""
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return errors[0]
    return {}


def json_api_error(body: dict[str, Any]) -> ErrorDetail:
    """A JSON:API error document (``{"errors": [{code, title, detail}]}``): the first error's
    code, and its detail, else its title."""
    first = first_error(body)
    return ErrorDetail(
        text_of(first.get("code")), text_of(first.get("detail")) or text_of(first.get("title"))
    )


def text_of(value: Any) -> str | None:
    """A code or message that may come as a string or a number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int):
        return str(value)
    return None
