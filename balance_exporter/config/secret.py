"""A credential that never shows itself in a repr, a log line or an error."""

from __future__ import annotations

import hmac
import re
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


# A message may quote an echoed secret cut short (a quoted value, a shortened text) or
# case-folded (a currency code): such pieces go too, down to this many characters.
FRAGMENT = 8


def redact(text: str, secrets: Iterable[Secret]) -> str:
    """Blank out every secret in text, whole or as a leading piece, in any letter case.

    One pass over the pieces of every secret, longest first: a secret's other forms (its
    percent-encoding) share its first characters, and blanking one at a time would leave
    the rest of the other visible."""
    pieces = {
        value[:size]
        for value in (secret.reveal() for secret in secrets)
        if len(value) >= 4
        for size in range(len(value), min(len(value), FRAGMENT) - 1, -1)
    }
    if not pieces:
        return text
    pattern = "|".join(re.escape(piece) for piece in sorted(pieces, key=len, reverse=True))
    return re.sub(pattern, "********", text, flags=re.IGNORECASE)
