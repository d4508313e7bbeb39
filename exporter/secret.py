"""A credential that never shows itself in a repr, a log line or an error."""

from __future__ import annotations

import hmac
from collections.abc import Iterable


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(Secret)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


def redact(text: str, secrets: Iterable[Secret]) -> str:
    """Blank out any secret value that found its way into text (say, a provider echoing a key)."""
    for secret in secrets:
        value = secret.reveal()
        if len(value) >= 4 and value in text:
            text = text.replace(value, "********")
    return text
