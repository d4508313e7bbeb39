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
MASK = "********"
SHORTEST = 4  # a shorter secret would blank out ordinary words


class Redaction:
    """Blanks out secrets in text, whole or as a leading piece, in any letter case.

    Built once per account, in time linear in the secrets' length: one pattern finds the
    first FRAGMENT characters of any secret (the whole of a shorter one), then the match is
    extended along the secrets that start so, and the longest wins. A secret's other forms
    (its percent-encoding) share its first characters, so blanking the longest piece in one
    pass never leaves the rest of another form visible."""

    __slots__ = ("_forms", "_pattern")

    def __init__(self, secrets: Iterable[Secret]) -> None:
        values = {secret.reveal() for secret in secrets}
        groups: dict[str, list[str]] = {}
        for value in values:
            if len(value) >= SHORTEST:
                groups.setdefault(value[:FRAGMENT].lower(), []).append(value)
        heads = sorted(groups, key=len, reverse=True)  # a whole head before a short secret
        self._forms = [groups[head] for head in heads]
        self._pattern = (
            re.compile("|".join(f"({re.escape(head)})" for head in heads), re.IGNORECASE)
            if heads
            else None
        )

    def apply(self, text: str) -> str:
        if self._pattern is None:
            return text
        pieces: list[str] = []
        done = 0
        while (found := self._pattern.search(text, done)) is not None:
            start = found.start()
            assert found.lastindex is not None
            forms = self._forms[found.lastindex - 1]
            pieces += [text[done:start], MASK]
            done = max(start + _common_length(text, start, form) for form in forms)
        pieces.append(text[done:])
        return "".join(pieces)


def _common_length(text: str, start: int, form: str) -> int:
    """How many characters of ``form`` text has from ``start`` on, in any letter case."""
    end = start + len(form)
    if text[start:end].lower() == form.lower():
        return len(form)
    size = min(FRAGMENT, len(form))  # the pattern matched this much
    for have, want in zip(text[start + size : end], form[size:], strict=False):
        if have != want and have.lower() != want.lower():
            break
        size += 1
    return size


def redact(text: str, secrets: Iterable[Secret]) -> str:
    """``text`` with every secret blanked out (see Redaction; build one to reuse it)."""
    return Redaction(secrets).apply(text)
