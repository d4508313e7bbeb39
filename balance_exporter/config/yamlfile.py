"""Reading the YAML files the exporter is given: strictly, with one-line errors."""

from __future__ import annotations

import re
import reprlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml

from balance_exporter.config.files import CONFIG_LIMIT, FileProblem, read_limited

Parsed = TypeVar("Parsed")


class ConfigError(Exception):
    """Every problem found in a file, one line each, naming the file and the key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def guarded(source: object, load: Callable[[], Parsed]) -> Parsed:
    """``load()``, with any failure its checks did not foresee as one ConfigError line naming
    ``source``, never a traceback."""
    try:
        return load()
    except ConfigError:
        raise
    except Exception as exc:  # a bug or an odd file costs one line, never the process
        name = shown_path(str(source))
        raise ConfigError([f"{name}: cannot be loaded ({type(exc).__name__})"]) from None


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (a silent override otherwise)."""


def _construct_mapping(loader: StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            line = key_node.start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None, None, f"key {shown(key)} given twice (line {line})"
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
                self.problem(
                    where, f"unknown key {shown(str(key))} (allowed: {', '.join(allowed)})"
                )


def read_text(path: str | Path) -> str:
    """A configuration file's text: a regular file of at most 16 MiB, in UTF-8."""
    try:
        return read_limited(Path(path), CONFIG_LIMIT).decode("utf-8")
    except FileProblem as exc:
        shown = shown_path(path)
        message = f"cannot read: {exc.error}" if exc.error else f"the file {exc.reason}"
        raise ConfigError([f"{shown}: {message}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{shown_path(path)}: not UTF-8 text"]) from None


SHOWN = 60  # characters of a value a message quotes at most
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother = 2, 40, 40
_SHORT.maxlist = _SHORT.maxdict = _SHORT.maxtuple = _SHORT.maxset = 4


def shown(value: Any) -> str:
    """A value from a file as a message may quote it: a short repr, never the whole of a value
    that YAML aliases may have made enormous."""
    text = _SHORT.repr(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def shown_path(path: str | Path) -> str:
    """A path as a message may quote it: no control characters, not without end."""
    text = "".join(c if c.isprintable() else "?" for c in str(path))
    return text if len(text) <= 200 else text[:199] + "…"


# More values than a 16 MiB file can hold as written: a document past it is an alias bomb.
MAX_VALUES = 1_000_000


def parse_yaml(text: str, source: str) -> Any:
    try:
        loader = StrictLoader(text)
    except yaml.YAMLError as exc:  # the reader refuses a character before anything is parsed
        raise ConfigError([f"{source}: invalid YAML: {_message(exc)}"]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_VALUES:
            raise ConfigError(
                [f"{source}: invalid YAML: its aliases expand past {MAX_VALUES:,} values"]
            )
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise ConfigError([f"{source}: invalid YAML: {_message(exc)}"]) from None
    except RecursionError:
        raise ConfigError([f"{source}: invalid YAML: nested too deeply"]) from None
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values the document holds once its aliases are expanded; a node an alias
    repeats is counted once per use, but measured once."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(
            _expanded_size(key, sizes) + _expanded_size(value, sizes) for key, value in node.value
        )
    sizes[id(node)] = size = min(size, MAX_VALUES + 1)
    return size


def _message(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        where = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        text = f"{exc.problem or exc.context}{where}"
    else:
        text = str(exc).splitlines()[0]
    return _ECHOED_NAME.sub(r"\1 (not shown)", text)
