"""A provider's own settings: a frozen dataclass whose fields declare the config keys.

A provider declares ``api_key: Secret = secret()`` or ``api: str = setting(choices=...)``; the
config checker reads each declared key from the account's mapping (a secret also from its
``<key>_file`` twin), checks it and builds the dataclass. Adapters then read typed attributes,
never strings looked up by name.

A setting is a string unless its ``kind`` says otherwise: ``mapping`` (names to strings, each
value ``${ENV}``-expanded, read-only) or ``number`` (a YAML number or a numeric string, as an
exact Decimal).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from balance_exporter.config.secret import Secret

# What a setting's value is: a string, a mapping of names to strings, or an exact number.
Kind = Literal["text", "mapping", "number"]


@dataclass(frozen=True)
class Field:
    """How one provider key is read and checked."""

    name: str
    secret: bool = False
    required: bool = True
    choices: tuple[str, ...] = ()
    default: str | None = None
    pattern: re.Pattern[str] | None = None
    help: str = ""
    kind: Kind = "text"


@dataclass(frozen=True, kw_only=True)
class ProviderSettings:
    """The base of every provider's settings; a provider without keys uses it as it is."""

    def fields(self) -> Iterator[tuple[Field, Any]]:
        for spec in settings_fields(type(self)):
            yield spec, getattr(self, spec.name)

    def secrets(self) -> dict[str, Secret]:
        return {spec.name: value for spec, value in self.fields() if isinstance(value, Secret)}


_SPEC = "balance_exporter.field"


def setting(
    *,
    required: bool = True,
    choices: tuple[str, ...] = (),
    default: str | None = None,
    pattern: str | None = None,
    help: str = "",
    kind: Kind = "text",
) -> Any:
    """A plain provider key (an id, a region, a choice; a mapping or a number by ``kind``)."""
    spec = Field(
        "",
        required=required and default is None,
        choices=choices,
        default=default,
        pattern=None if pattern is None else re.compile(pattern),
        help=help,
        kind=kind,
    )
    if spec.required:
        return dataclasses.field(metadata={_SPEC: spec})
    return dataclasses.field(default=default, metadata={_SPEC: spec})


def secret(*, required: bool = True, help: str = "") -> Any:
    """A credential: a literal, ``${ENV}`` or a ``<key>_file`` twin; never shown."""
    spec = Field("", secret=True, required=required, help=help)
    if required:
        return dataclasses.field(metadata={_SPEC: spec})
    return dataclasses.field(default=None, metadata={_SPEC: spec})


def settings_fields(settings_type: type[ProviderSettings]) -> tuple[Field, ...]:
    """The keys ``settings_type`` declares, in declaration order."""
    return tuple(
        dataclasses.replace(item.metadata[_SPEC], name=item.name)
        for item in dataclasses.fields(settings_type)
        if _SPEC in item.metadata
    )
