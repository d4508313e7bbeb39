"""Reading the YAML files the exporter is given: strictly, with one-line errors."""

from __future__ import annotations

import re
import reprlib
from collections.abc import Callable
from functools import partial
from itertools import accumulate, repeat, takewhile
from operator import is_not
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


# Deeper than any configuration needs, and shallow enough that composing, measuring and
# constructing a document stay far inside Python's recursion limit and a thread's C stack.
MAX_DEPTH = 100


class _TooDeep(Exception):
    """A document nests collections past MAX_DEPTH."""


class PureStrictLoader(yaml.SafeLoader):
    """The pure-Python loader, strict: a key given twice, or nesting past MAX_DEPTH, is refused.

    The fallback when PyYAML was built without libyaml: several times slower."""

    _depth = 0

    def compose_sequence_node(self, anchor: Any) -> yaml.SequenceNode:
        self._descend()
        try:
            return super().compose_sequence_node(anchor)
        finally:
            self._depth -= 1

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        self._descend()
        try:
            return super().compose_mapping_node(anchor)
        finally:
            self._depth -= 1

    def _descend(self) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _TooDeep


if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class CStrictLoader(yaml.CSafeLoader):
        """libyaml's parser and composer, as strict as PureStrictLoader.

        Its composer is recursive C code without a depth limit of its own that can be relied on
        (a deep enough file would overflow the C stack of the thread parsing it), and its reader
        words errors differently, so the text is screened first the way the pure loader's
        reader and composer screen it as they go."""

        def __init__(self, stream: str) -> None:
            _check_printable(stream)
            _check_depth(stream)
            super().__init__(stream)

    LOADERS: tuple[type[PureStrictLoader | CStrictLoader], ...] = (CStrictLoader, PureStrictLoader)
else:  # pragma: no cover - PyYAML without libyaml
    LOADERS = (PureStrictLoader,)

# The loader parse_yaml uses: libyaml's when PyYAML has it.
StrictLoader = LOADERS[0]

# The events that open and close a collection: a document's depth is their running sum.
_DEPTH_STEP: dict[type[yaml.Event], int] = {
    yaml.SequenceStartEvent: 1,
    yaml.MappingStartEvent: 1,
    yaml.SequenceEndEvent: -1,
    yaml.MappingEndEvent: -1,
}


def _check_printable(text: str) -> None:
    """The pure reader's check, with its message: libyaml refuses the same characters but words
    it differently, and a lone surrogate would fail its UTF-8 encoding instead."""
    found = yaml.reader.Reader.NON_PRINTABLE.search(text)
    if found:
        raise yaml.reader.ReaderError(
            "<unicode string>",
            found.start(),
            ord(found.group()),
            "unicode",
            "special characters are not allowed",
        )


def _check_depth(text: str) -> None:
    """_TooDeep when the first document nests past MAX_DEPTH, found with libyaml's event stream
    (iterative) before its recursive composer sees the text.

    The loop runs in C (map, accumulate, any: no Python code per event) and stops at the first
    event past the limit: about 0.12 s for 10,000 accounts, against 0.7 s to compose them. Only
    the first document counts: the composer refuses a second one before composing it. A syntax
    error ends the scan silently: the composer meets the same error at the same event, having
    nested no deeper than the scan has seen."""
    parser = CParser(text)
    try:
        events = takewhile(
            partial(is_not, yaml.DocumentEndEvent), map(type, iter(parser.get_event, None))
        )
        depths = accumulate(map(_DEPTH_STEP.get, events, repeat(0)))
        too_deep = any(map(MAX_DEPTH.__lt__, depths))
    except yaml.YAMLError as exc:
        too_deep = _is_libyaml_nesting_limit(exc)
    finally:
        parser.dispose()
    if too_deep:
        raise _TooDeep


def _is_libyaml_nesting_limit(exc: yaml.YAMLError) -> bool:
    """libyaml as PyYAML's wheels bundle it refuses nesting past 1,000 levels itself, and its
    scanner looks up to 1,024 characters ahead of the events: 1,000 "[" in a row fail that way
    before the depth the scan counts reaches MAX_DEPTH."""
    return isinstance(exc, yaml.MarkedYAMLError) and exc.problem == "exceeded maximum nesting depth"


def _construct_mapping(
    loader: yaml.SafeLoader | yaml.CSafeLoader, node: yaml.MappingNode
) -> dict[Any, Any]:
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


for _loader in LOADERS:
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

# PyYAML quotes tag, alias and anchor names from the file: an unquoted secret starting with
# "!", "*" or "&" would be one of them, so their names are left out of messages. A tag may hold
# a "'", which repr() then quotes with '"'.
_ECHOED_NAME = re.compile(
    r"""\b(tag handle|tag|alias|anchor) ('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
)
# libyaml leaves the names out itself; these say so as PyYAML's messages do once cleaned.
_UNNAMED = {
    "found undefined alias": "found undefined alias (not shown)",
    "found undefined tag handle": "found undefined tag handle (not shown)",
}


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


def parse_yaml(
    text: str, source: str, loader: type[PureStrictLoader | CStrictLoader] | None = None
) -> Any:
    """The one document in ``text`` (None when empty), or one ConfigError line naming ``source``;
    ``loader`` is StrictLoader unless given."""
    try:
        return _load(text, source, loader or StrictLoader)
    except yaml.YAMLError as exc:
        if _is_libyaml_nesting_limit(exc):
            raise ConfigError([f"{source}: invalid YAML: nested too deeply"]) from None
        raise ConfigError([f"{source}: invalid YAML: {_message(exc)}"]) from None
    except (_TooDeep, RecursionError):  # RecursionError: an alias inside the node it names
        raise ConfigError([f"{source}: invalid YAML: nested too deeply"]) from None


def _load(text: str, source: str, loader_type: type[PureStrictLoader | CStrictLoader]) -> Any:
    loader = loader_type(text)  # the readers refuse a character before anything is parsed
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_VALUES:
            raise ConfigError(
                [f"{source}: invalid YAML: its aliases expand past {MAX_VALUES:,} values"]
            )
        return loader.construct_document(node)
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
        said = str(exc.problem or exc.context)
        text = f"{_UNNAMED.get(said, said)}{where}"
    else:
        text = str(exc).splitlines()[0]
    return _ECHOED_NAME.sub(r"\1 (not shown)", text)
