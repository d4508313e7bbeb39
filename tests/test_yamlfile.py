"""Reading YAML strictly: every problem one line, whatever the file holds, with either loader."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_harness import environment, run_exporter

from balance_exporter.config import yamlfile
from balance_exporter.config.checker import parse_config
from balance_exporter.config.files import CONFIG_LIMIT
from balance_exporter.config.yamlfile import (
    LOADERS,
    MAX_DEPTH,
    MAX_VALUES,
    ConfigError,
    PureStrictLoader,
    guarded,
    parse_yaml,
    shown,
)

DEADLINE = 20.0  # seconds for a process that must neither hang nor grow without end
CONFIGS = Path(__file__).parent / "configs"
SECRET = "CANARY-7f3e9a2b1c"
TOO_DEEP = ["c.yml: invalid YAML: nested too deeply"]


@pytest.fixture(params=LOADERS, ids=lambda loader: loader.__name__)
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> type[object]:
    """Each loader in turn, as the one parse_yaml (and so parse_config) uses."""
    chosen: type[object] = request.param
    monkeypatch.setattr(yamlfile, "StrictLoader", chosen)
    return chosen


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_yaml(text, "c.yml")
    return caught.value.problems


def alias_bomb(levels: int) -> str:
    """Each level repeats the one before ten times: 10**levels values once expanded."""
    lines = ['a0: &a0 "lol"']
    for level in range(1, levels + 1):
        below = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{below}]")
    lines.append(f"accounts: [{{name: x, provider: *a{levels}, interval: *a{levels}}}]")
    return "\n".join(lines) + "\n"


def flow_sequences(levels: int) -> str:
    return "[" * levels + "]" * levels + "\n"


def flow_mappings(levels: int) -> str:
    return "{a: " * levels + "1" + "}" * levels + "\n"


def block_sequences(levels: int) -> str:
    return "- " * levels + "x\n"


def block_mappings(levels: int) -> str:
    return "".join(" " * level + "a:\n" for level in range(levels)) + " " * levels + "1\n"


Nesting = Callable[[int], str]
NESTINGS: list[Nesting] = [flow_sequences, flow_mappings, block_sequences, block_mappings]


def depth(document: Any) -> int:
    """How many collections deep a document made by one of NESTINGS is."""
    levels: int = 0
    while isinstance(document, list | dict) and document:
        document = next(iter(document.values())) if isinstance(document, dict) else document[0]
        levels += 1
    return levels + 1 if document == [] else levels


def test_libyaml_is_used_when_pyyaml_has_it() -> None:
    assert (yamlfile.StrictLoader is not PureStrictLoader) == yaml.__with_libyaml__
    assert LOADERS[-1] is PureStrictLoader


@pytest.mark.usefixtures("loader")
def test_nesting_past_the_recursion_limit_is_one_line() -> None:
    assert problems("a: " + "[" * 5000 + "]" * 5000 + "\n") == TOO_DEEP


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize(
    ("nesting", "levels"),
    [
        *((nesting, levels) for nesting in NESTINGS for levels in (MAX_DEPTH + 1, 5_000)),
        # Indentation grows with each level: 100,000 block mappings would be 5 GB of spaces.
        *((nesting, 100_000) for nesting in (flow_sequences, flow_mappings, block_sequences)),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_nesting_past_the_limit_is_one_line_however_it_is_written(
    nesting: Nesting, levels: int
) -> None:
    assert problems(nesting(levels)) == TOO_DEEP


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize("nesting", NESTINGS, ids=lambda nesting: nesting.__name__)
def test_nesting_up_to_the_limit_is_read(nesting: Nesting) -> None:
    assert depth(parse_yaml(nesting(MAX_DEPTH), "c.yml")) == MAX_DEPTH


@pytest.mark.usefixtures("loader")
def test_a_file_of_opening_brackets_as_large_as_allowed_is_refused_at_once() -> None:
    assert problems("[" * (CONFIG_LIMIT - 1)) == TOO_DEEP


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize("text", ["a: &a [*a]\n", "a: &a {b: [1, *a]}\n"])
def test_an_alias_inside_the_collection_it_names_is_one_line(text: str) -> None:
    assert problems(text) == TOO_DEEP


@pytest.mark.parametrize("loader_name", [loader.__name__ for loader in LOADERS])
def test_deep_nesting_in_a_thread_with_a_small_stack_is_one_line(loader_name: str) -> None:
    """Reloads parse in a worker thread; its C stack must never be what limits the depth. A
    separate process, so that a crash fails this test instead of ending the run. The last text
    nests 1,980 levels, which libyaml's own limits (1,000 block and 1,000 flow levels) let its
    recursive composer reach, and 256 KiB of stack do not hold unless the depth is bounded first."""
    script = textwrap.dedent(
        f"""
        import threading
        from balance_exporter.config import yamlfile

        found = []

        def parse(text):
            try:
                yamlfile.parse_yaml(text, "c.yml", yamlfile.{loader_name})
            except yamlfile.ConfigError as exc:
                found.extend(exc.problems)

        threading.stack_size(256 * 1024)
        mixed = "- " * 990 + "[" * 990 + "]" * 990
        for text in ("[" * 1_000_000, "{{a: " * 300_000, "- " * 300_000, mixed):
            thread = threading.Thread(target=parse, args=(text,))
            thread.start()
            thread.join()
        print("\\n".join(found))
        """
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=DEADLINE,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == TOO_DEEP * 4


@pytest.mark.usefixtures("loader")
def test_aliases_that_expand_past_the_limit_are_refused() -> None:
    assert problems(alias_bomb(9)) == [
        f"c.yml: invalid YAML: its aliases expand past {MAX_VALUES:,} values"
    ]


@pytest.mark.usefixtures("loader")
def test_a_few_aliases_are_fine_and_their_values_are_quoted_short() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(alias_bomb(3), "c.yml", environ={})
    [first, *_] = caught.value.problems
    assert first.startswith("c.yml: top level: unknown key 'a0'")
    for problem in caught.value.problems:
        assert len(problem) < 400, problem  # 1,000 repeated values never quoted whole


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\nb: 2\na: 3\n", "key 'a' given twice (line 3)"),
        ("a: {b: 1, c: 2, b: 3}\n", "key 'b' given twice (line 1)"),
        ("- {x: 1}\n- y: 1\n  z: 2\n  y: 3\n", "key 'y' given twice (line 4)"),
        ("1: a\n0x1: b\n", "key 1 given twice (line 2)"),
    ],
)
def test_a_key_given_twice_in_one_mapping_is_refused(text: str, expected: str) -> None:
    assert problems(text) == [f"c.yml: invalid YAML: {expected}"]


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"a: *{SECRET}\n", "found undefined alias (not shown) (line 1)"),
        (
            f"a: !{SECRET}\n",
            "could not determine a constructor for the tag (not shown) (line 1)",
        ),
        (
            f"a: !{SECRET}'x\n",  # repr() quotes a tag holding "'" with '"'
            "could not determine a constructor for the tag (not shown) (line 1)",
        ),
        (f"a: !{SECRET}!x 1\n", "found undefined tag handle (not shown) (line 1)"),
        (f"a: &{SECRET} 1\nb: &{SECRET} 2\n", "second occurrence (line 2)"),
    ],
    ids=["alias", "tag", "tag-with-quote", "tag-handle", "anchor"],
)
def test_tag_alias_and_anchor_names_are_never_echoed(text: str, expected: str) -> None:
    [problem] = problems(text)
    assert problem == f"c.yml: invalid YAML: {expected}"
    assert "CANARY" not in problem


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize("character", ["\x07", "\x00", "\x1b", "\ud800", "\ufffe"])
def test_a_character_the_yaml_reader_refuses_is_one_line(character: str) -> None:
    assert problems(f"accounts: 'a{character}b'\n") == [
        f"c.yml: invalid YAML: unacceptable character #x{ord(character):04x}: "
        "special characters are not allowed"
    ]


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize(
    "text", ["", "\n", "# only a comment\n", "---\n", "--- # comment\n...\n", "\ufeff"]
)
def test_an_empty_document_is_none(text: str) -> None:
    assert parse_yaml(text, "c.yml") is None


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\n---\nb: 2\n", "but found another document (line 2)"),
        ("a: 'x\n", "found unexpected end of stream (line 2)"),
        ((CONFIGS / "bad" / "invalid_yaml.yml").read_text(), "found unexpected end of stream"),
    ],
)
def test_a_syntax_error_is_one_line(text: str, expected: str) -> None:
    [problem] = problems(text)
    assert problem.startswith(f"c.yml: invalid YAML: {expected}")
    assert SECRET not in problem


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize("text", ["a: [1, 2\n", "a: b: c\n", "- a\nb: 1\n", "a:\n\t- b\n"])
def test_a_syntax_error_either_loader_words_its_own_way_is_still_one_line(text: str) -> None:
    [problem] = problems(text)
    assert problem.startswith("c.yml: invalid YAML: ")
    assert "\n" not in problem


@pytest.mark.parametrize("path", sorted((CONFIGS / "good").glob("*.yml")), ids=lambda p: p.name)
def test_the_loaders_read_every_good_file_alike(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    first, *others = (parse_yaml(text, path.name, loader) for loader in LOADERS)
    assert first is not None
    for other in others:
        assert other == first


def test_the_loaders_resolve_scalars_alike() -> None:
    text = "a: 0x1F\nb: 1_000\nc: 2001-12-14\nd: yes\ne: .inf\nf: 1:20\ng: ~\nh: '007'\n"
    first, *others = (parse_yaml(text, "c.yml", loader) for loader in LOADERS)
    assert (first["a"], first["d"], first["g"]) == (31, True, None)
    assert all(other == first for other in others)


def test_shown_is_short_whatever_the_value() -> None:
    assert len(shown("x" * 1000)) <= 40
    assert len(shown(["y" * 1000] * 1000)) <= 60
    assert len(shown({str(i): [i] * 100 for i in range(100)})) <= 60
    assert shown("telnix") == "'telnix'"


def test_any_unforeseen_failure_of_a_load_is_one_line_naming_the_file() -> None:
    def broken() -> None:
        raise TypeError("unhashable type: 'dict'")

    with pytest.raises(ConfigError) as caught:
        guarded("web.yml", broken)
    assert caught.value.problems == ["web.yml: cannot be loaded (TypeError)"]


def test_config_check_of_an_alias_bomb_exits_2_at_once(tmp_path: Path) -> None:
    config = tmp_path / "bomb.yml"
    config.write_text(alias_bomb(9), encoding="utf-8")
    result = run_exporter(
        "--config.check", "--config.file", str(config), cwd=tmp_path, timeout=DEADLINE
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"{config}: invalid YAML: its aliases expand past 1,000,000 values\n"


def test_config_check_of_a_file_of_brackets_exits_2_at_once(tmp_path: Path) -> None:
    config = tmp_path / "deep.yml"
    config.write_text("accounts: " + "[" * (CONFIG_LIMIT - 20), encoding="utf-8")
    result = run_exporter(
        "--config.check", "--config.file", str(config), cwd=tmp_path, timeout=DEADLINE
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"{config}: invalid YAML: nested too deeply\n"
