"""Reading YAML strictly: every problem one line, whatever the file holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_harness import run_exporter

from balance_exporter.config.checker import parse_config
from balance_exporter.config.yamlfile import MAX_VALUES, ConfigError, guarded, parse_yaml, shown

DEADLINE = 20.0  # seconds for a process that must neither hang nor grow without end


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


def test_nesting_past_the_recursion_limit_is_one_line() -> None:
    assert problems("a: " + "[" * 5000 + "]" * 5000 + "\n") == [
        "c.yml: invalid YAML: nested too deeply"
    ]


def test_aliases_that_expand_past_the_limit_are_refused() -> None:
    assert problems(alias_bomb(9)) == [
        f"c.yml: invalid YAML: its aliases expand past {MAX_VALUES:,} values"
    ]


def test_a_few_aliases_are_fine_and_their_values_are_quoted_short() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(alias_bomb(3), "c.yml", environ={})
    [first, *_] = caught.value.problems
    assert first.startswith("c.yml: top level: unknown key 'a0'")
    for problem in caught.value.problems:
        assert len(problem) < 400, problem  # 1,000 repeated values never quoted whole


def test_shown_is_short_whatever_the_value() -> None:
    assert len(shown("x" * 1000)) <= 40
    assert len(shown(["y" * 1000] * 1000)) <= 60
    assert len(shown({str(i): [i] * 100 for i in range(100)})) <= 60
    assert shown("telnix") == "'telnix'"


def test_a_control_character_the_yaml_reader_refuses_is_one_line() -> None:
    [problem] = problems("accounts: 'a\\x07b'\n".replace("\\x07", "\x07"))
    assert problem.startswith("c.yml: invalid YAML: ")
    assert "\n" not in problem


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
