"""Why a poll failed: one closed set of reasons, shared by every provider."""

from __future__ import annotations

import enum


class Reason(enum.StrEnum):
    AUTH = "auth"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    CLIENT_ERROR = "client_error"
    TIMEOUT = "timeout"
    NETWORK = "network"
    INVALID_RESPONSE = "invalid_response"


class PollError(Exception):
    """A failed poll. The message is one line and never holds a secret."""

    def __init__(
        self,
        reason: Reason,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status = status
        self.code = code
        # Seconds the provider asked us to wait before the next request, if it said.
        self.retry_after = retry_after

    def __str__(self) -> str:
        # The message, not the constructor's argument: poll() redacts the message afterwards.
        return self.message

    def __repr__(self) -> str:
        return f"PollError({self.reason.value!r}, {self.message!r}, status={self.status!r})"


def reason_for_status(status: int) -> Reason:
    """The generic reading of an HTTP error status; providers refine it by their error codes."""
    if status in (401, 403):
        return Reason.AUTH
    if status == 429:
        return Reason.RATE_LIMITED
    if status >= 500:
        return Reason.SERVER_ERROR
    return Reason.CLIENT_ERROR


def invalid(message: str) -> PollError:
    return PollError(Reason.INVALID_RESPONSE, message)
