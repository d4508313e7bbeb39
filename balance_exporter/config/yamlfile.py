"""Reading the YAML files the exporter is given: strictly, with one-line errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml

Parsed = TypeVar("Parsed")


class ConfigError(Exception):
    """Every problem found in a file, one line each, naming the file and the key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (a silent override otherwise)."""


def _construct_mapping(loader: StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            line = key_node.start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} given twice (line {line})"
            )
        seen.add(key)
    return loader.construct_mapping(node)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

# PyYAML quotes tag, alias and anchor names from the file: an unquoted secret starting with
# "!", "*" or "&" would be one of them, so their names are left out of messages.
_ECHOED_NAME = re.compile(r"\b(tag handle|tag|alias|anchor) '[^']*'")


class Checker(Generic[Parsed]):
    """Collects a file's problems, each one line: the file, where in it, and what is wrong."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def parse(self, document: Any) -> Parsed:
        raise NotImplementedError

    def check(self, text: str) -> Parsed:
        """The file's YAML text parsed, or ConfigError with every problem found in it."""
        parsed = self.parse(parse_yaml(text, self.source))
        if self.problems:
            raise ConfigError(self.problems)
        return parsed

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{self.source}: {where}: {message}")

    def section(
        self, document: dict[str, Any], key: str, allowed: tuple[str, ...]
    ) -> dict[str, Any]:
        """A mapping under ``key`` with only ``allowed`` keys; {} when absent or not a mapping."""
        value = document.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(key, "must be a mapping")
            return {}
        self.unknown_keys(value, allowed, key)
        return value

    def unknown_keys(self, mapping: dict[Any, Any], allowed: tuple[str, ...], where: str) -> None:
        for key in mapping:
            if key not in allowed:
                self.problem(where, f"unknown key {str(key)!r} (allowed: {', '.join(allowed)})")


def read_text(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text"]) from None


def parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError([f"{source}: invalid YAML: {_message(exc)}"]) from None


def _message(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        where = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        text = f"{exc.problem or exc.context}{where}"
    else:
        text = str(exc).splitlines()[0]
    return _ECHOED_NAME.sub(r"\1 (not shown)", text)
