"""The configuration file: a table of good and bad files under tests/configs, and edge cases.

Every bad file ``tests/configs/bad/NAME.yml`` has a sibling ``NAME.expected`` holding the
exact problem lines, one per line, with ``{file}`` standing for the path given to
load_config. Every secret in these files contains "CANARY": no message may show one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from balance_exporter.config.account import AccountConfig
from balance_exporter.config.checker import (
    DEFAULT_INTERVAL,
    DEFAULT_MAX_CONCURRENT_REQUESTS,
    DEFAULT_MIN_INTERVAL,
    DEFAULT_TIMEOUT,
    Config,
    ConfigError,
    describe,
    load_config,
    parse_config,
)
from balance_exporter.config.secret import Secret
from balance_exporter.config.settings import ProviderSettings, setting
from balance_exporter.metrics.reading import Reading
from balance_exporter.providers.base import Provider, Request, Response
from balance_exporter.providers.registry import PROVIDERS

CONFIGS = Path(__file__).parent / "configs"
GOOD = CONFIGS / "good"
BAD = CONFIGS / "bad"
CANARY = "CANARY"

# The environment the table is loaded with; the values are canaries too.
ENVIRON = {
    "TELNYX_API_KEY": "CANARY-env-telnyx-19be",
    "FAKE_HOST": "127.0.0.1",
    "YOUCOM_ORG": "CANARY-org",
    "YOUCOM_KEY": "7731",
    "TWILIO_ACCOUNT_SID": "AC00000000000000000000000000000001",
    "TWILIO_TOKEN_NAME": "twilio_token_no_newline.txt",
}


def _bad_files() -> list[Path]:
    return sorted(BAD.glob("*.yml"))


def _good_files() -> list[Path]:
    return sorted(GOOD.glob("*.yml"))


def _problems(path: Path | str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=ENVIRON if environ is None else environ)
    return caught.value.problems


def _text_problems(text: str, environ: dict[str, str] | None = None) -> list[str]:
    """The problems of ``text`` as a config file named c.yml."""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "c.yml", environ or {})
    return caught.value.problems


def _account(config: Config, name: str) -> AccountConfig:
    [account] = [a for a in config.accounts if a.name == name]
    return account


def test_the_table_is_complete() -> None:
    bad = {path.stem for path in _bad_files()}
    expected = {path.stem for path in BAD.glob("*.expected")}
    assert bad == expected
    assert len(bad) >= 25
    assert len(_good_files()) >= 7


@pytest.mark.parametrize("path", _bad_files(), ids=lambda path: path.stem)
def test_bad_config_is_refused_with_the_expected_lines(path: Path) -> None:
    problems = _problems(path)

    expected = path.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    known = ", ".join(sorted(PROVIDERS))
    assert problems == [
        line.replace("{file}", str(path)).replace("{providers}", known) for line in expected
    ]


@pytest.mark.parametrize("path", _bad_files(), ids=lambda path: path.stem)
def test_bad_config_messages_are_single_lines_without_secrets(path: Path) -> None:
    problems = _problems(path)

    assert problems
    for problem in problems:
        assert problem.startswith(f"{path}: ")
        assert "\n" not in problem
        assert "\r" not in problem
        assert CANARY not in problem
        assert "Traceback" not in problem


def test_bad_files_hold_canaries_so_the_secret_check_means_something() -> None:
    with_canary = [path for path in _bad_files() if CANARY in path.read_text(encoding="utf-8")]
    assert len(with_canary) >= 20


def test_several_problems_are_all_reported_one_line_each() -> None:
    path = BAD / "many_problems.yml"

    problems = _problems(path)

    assert len(problems) == 11
    assert len(set(problems)) == 11
    # Each account's problems name it; valid parts of the file do not hide the others.
    assert sum("accounts[0] 'sms-eu'" in p for p in problems) == 2
    assert sum("accounts[1] 'voice'" in p for p in problems) == 2
    assert sum("accounts[4] 'bulk-sms'" in p for p in problems) == 3


def test_config_error_text_is_the_problems_joined() -> None:
    path = BAD / "twilio_no_auth.yml"
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert str(caught.value) == "\n".join(caught.value.problems)
    assert len(caught.value.problems) == 3


def test_duplicate_names_are_reported_even_when_the_first_account_is_invalid() -> None:
    text = """
accounts:
  - name: sms
    provider: telnyx
  - name: sms
    provider: youcom
    api_key: CANARY-dup
"""
    assert _text_problems(text) == [
        "c.yml: accounts[0] 'sms': api_key: is required (or api_key_file)",
        "c.yml: accounts[1] 'sms': name: duplicate of accounts[0]; names must be unique",
    ]


def test_unresolvable_twilio_token_is_one_problem_not_two() -> None:
    text = """
accounts:
  - name: voice
    provider: twilio
    account_sid: AC0123456789abcdef0123456789abcdef
    auth_token_file: /nonexistent/balance-exporter/token
"""
    assert _text_problems(text) == [
        "c.yml: accounts[0] 'voice': auth_token_file: cannot read "
        "/nonexistent/balance-exporter/token: No such file or directory"
    ]


# Ways a secret can end up in the YAML layer's own error messages.
YAML_TRAPS = [
    "api_key: !CANARY-tag",
    "api_key: !!CANARY-tag x",
    "api_key: *CANARY-alias",
    "api_key: CANARY-x: y",
    'api_key: "CANARY-escape\\q"',
    "api_key: {CANARY-flow",
    "api_key:CANARY-no-space",
    "api_key: @CANARY-at",
    "api_key: 'CANARY-control\x07'",
    "api_key: !<CANARY-verbatim x",
]


@pytest.mark.parametrize("line", YAML_TRAPS)
def test_yaml_errors_never_echo_a_secret(line: str) -> None:
    text = f"accounts:\n  - name: sms\n    provider: telnyx\n    {line}\n"
    [problem] = _text_problems(text)
    assert problem.startswith("c.yml: ")
    assert CANARY not in problem
    assert "\n" not in problem


def test_duplicate_yaml_keys_name_the_key_and_line() -> None:
    text = "accounts: []\ndefaults:\n  interval: 5m\n  interval: 1m\n"
    assert _text_problems(text) == ["c.yml: invalid YAML: key 'interval' given twice (line 4)"]


def test_missing_config_file_is_one_line() -> None:
    path = CONFIGS / "does-not-exist.yml"
    assert _problems(path) == [f"{path}: cannot read: No such file or directory"]


def test_config_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yml"
    path.write_bytes("accounts: []\n# caf\xe9\n".encode("latin-1"))
    assert _problems(path) == [f"{path}: not UTF-8 text"]


def test_empty_file_asks_for_accounts(tmp_path: Path) -> None:
    path = tmp_path / "empty.yml"
    path.write_text("", encoding="utf-8")
    assert _problems(path) == [f"{path}: accounts: is required: a list of accounts to poll"]


def test_secret_file_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "key.bin").write_bytes(b"\xff\xfeCANARY\n")
    path = tmp_path / "c.yml"
    path.write_text(
        "accounts:\n  - name: sms\n    provider: telnyx\n    api_key_file: key.bin\n",
        encoding="utf-8",
    )
    assert _problems(path) == [
        f"{path}: accounts[0] 'sms': api_key_file: key.bin is not UTF-8 text"
    ]


def test_non_string_keys_are_unknown_keys() -> None:
    assert _text_problems("1: x\naccounts: []\n") == [
        "c.yml: top level: unknown key '1' (allowed: global, defaults, accounts)"
    ]


def test_parse_config_names_an_unnamed_source() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("[]", environ={})
    assert caught.value.problems == [
        "<config>: top level: expected a mapping with an 'accounts' list"
    ]


# --- good files ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", _good_files(), ids=lambda path: path.stem)
def test_good_config_loads_and_hides_its_secrets(path: Path) -> None:
    config = load_config(path, environ=ENVIRON)

    assert config.accounts
    text = repr(config)
    assert CANARY not in text
    assert "Secret('********')" in text
    assert CANARY not in str(config)
    for warning in config.warnings:
        assert CANARY not in warning
        assert "\n" not in warning
    for line in describe(config):
        assert CANARY not in line
    # Loading is deterministic: the scheduler compares configs to keep unchanged accounts.
    assert load_config(path, environ=ENVIRON) == config


def test_every_provider_and_authentication_form() -> None:
    config = load_config(GOOD / "all_providers.yml", environ={})

    assert [(a.name, a.provider) for a in config.accounts] == [
        ("sms-eu", "telnyx"),
        ("voice", "twilio"),
        ("voice-key", "twilio"),
        ("bulk-sms", "clickatell"),
        ("bulk-sms-za", "clickatell"),
        ("search", "youcom"),
        ("gateway", "23telecom"),
    ]
    telnyx = _account(config, "sms-eu")
    assert telnyx.secrets["api_key"].reveal() == "CANARY-telnyx-5b8e1d"
    assert _plain(telnyx) == {}
    assert telnyx.base_url is None

    voice = _account(config, "voice")
    assert _plain(voice) == {"account_sid": "AC0123456789abcdef0123456789abcdef"}
    assert voice.secrets["auth_token"].reveal() == "CANARY-twilio-token-0c4f"
    assert "api_key_secret" not in voice.secrets

    voice_key = _account(config, "voice-key")
    assert _plain(voice_key) == {
        "account_sid": "ACabcdefabcdefabcdefabcdefabcdefab",
        "api_key_sid": "SK0123456789abcdef0123456789abcdef",
    }
    assert voice_key.secrets["api_key_secret"].reveal() == "CANARY-twilio-secret-91aa"
    assert "auth_token" not in voice_key.secrets

    assert _plain(_account(config, "bulk-sms")) == {"api": "rest"}
    assert _plain(_account(config, "bulk-sms-za")) == {"api": "platform", "currency": "ZAR"}
    assert _account(config, "search").secrets["api_key"].reveal() == "CANARY-youcom-e41b"
    gateway = _account(config, "gateway")
    assert gateway.base_url == "https://eu.restlink23telecom.com/"
    assert gateway.secrets["api_key"].reveal() == "CANARY-23telecom-aa09"


def _plain(account: AccountConfig) -> dict[str, object]:
    """The account's provider settings that are not secrets and not left unset."""
    return {
        spec.name: value
        for spec, value in account.settings.fields()
        if not spec.secret and value is not None
    }


def test_defaults_when_nothing_is_set() -> None:
    config = load_config(GOOD / "minimal.yml", environ={})

    assert config.min_interval == DEFAULT_MIN_INTERVAL == 60.0
    assert config.max_concurrent_requests == DEFAULT_MAX_CONCURRENT_REQUESTS == 8
    assert config.warnings == ()
    [account] = config.accounts
    assert account.interval == DEFAULT_INTERVAL == 300.0
    assert account.timeout == DEFAULT_TIMEOUT == 15.0
    assert account.base_url is None


def test_secret_files_strip_the_trailing_newline_only() -> None:
    config = load_config(GOOD / "secret_files.yml", environ={})

    assert _account(config, "sms-eu").secrets["api_key"].reveal() == "CANARY-file-telnyx-6c1d"
    assert _account(config, "search").secrets["api_key"].reveal() == "CANARY-file-youcom-2e7a"
    assert (
        _account(config, "voice").secrets["auth_token"].reveal()
        == "CANARY-file twilio token with spaces 88f3"
    )


def test_relative_secret_files_follow_the_config_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    relative = os.path.relpath(GOOD / "secret_files.yml", tmp_path)

    config = load_config(relative, environ={})

    assert _account(config, "sms-eu").secrets["api_key"].reveal() == "CANARY-file-telnyx-6c1d"


def test_absolute_secret_file_path(tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere" / "key"
    secret.parent.mkdir()
    secret.write_text("CANARY-absolute\n\n", encoding="utf-8")
    path = tmp_path / "conf" / "c.yml"
    path.parent.mkdir()
    path.write_text(
        f"accounts:\n  - name: sms\n    provider: telnyx\n    api_key_file: {secret}\n",
        encoding="utf-8",
    )

    config = load_config(path, environ={})

    assert config.accounts[0].secrets["api_key"].reveal() == "CANARY-absolute"


def test_environment_references_are_expanded() -> None:
    config = load_config(GOOD / "env_expansion.yml", environ=ENVIRON)

    telnyx = _account(config, "sms-eu")
    assert telnyx.secrets["api_key"].reveal() == "CANARY-env-telnyx-19be"
    assert telnyx.base_url == "http://127.0.0.1:8080/telnyx"
    assert _account(config, "search").secrets["api_key"].reveal() == "key-CANARY-org-7731"
    voice = _account(config, "voice")
    assert _plain(voice)["account_sid"] == "AC00000000000000000000000000000001"
    assert voice.secrets["auth_token"].reveal() == "CANARY-file twilio token with spaces 88f3"
    assert (
        _account(config, "literal").secrets["api_key"].reveal() == "$NOT_A_REFERENCE-and-{braces}"
    )


def test_environment_defaults_to_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in ENVIRON.items():
        monkeypatch.setenv(key, value)

    config = load_config(GOOD / "env_expansion.yml")

    assert _account(config, "sms-eu").secrets["api_key"].reveal() == "CANARY-env-telnyx-19be"


def test_an_unset_variable_is_named_once_per_reference() -> None:
    text = """
accounts:
  - name: sms
    provider: telnyx
    api_key: ${A}${B}
"""
    assert _text_problems(text, {"A": "CANARY-a"}) == [
        "c.yml: accounts[0] 'sms': api_key: environment variable B is not set"
    ]


def test_accounts_inherit_the_defaults() -> None:
    config = load_config(GOOD / "defaults.yml", environ={})

    assert [(a.name, a.interval, a.timeout) for a in config.accounts] == [
        ("inherits", 600.0, 20.0),
        ("own-interval", 5400.0, 20.0),
        ("own-timeout", 600.0, 45.0),
    ]
    assert config.warnings == ()


def test_interval_below_the_floor_is_raised_with_a_warning() -> None:
    path = GOOD / "interval_floor.yml"

    config = load_config(path, environ={})

    assert [(a.name, a.interval, a.timeout) for a in config.accounts] == [
        ("from-defaults", 60.0, 5.0),
        ("own-interval", 60.0, 5.0),
        ("at-the-floor", 60.0, 5.0),
    ]
    hint = "(global.min_interval lowers the floor for simulators and tests)"
    assert config.warnings == (
        f"{path}: accounts[0] 'from-defaults': interval 20s is below the 1m floor, "
        f"raised to it {hint}",
        f"{path}: accounts[1] 'own-interval': interval 30s is below the 1m floor, "
        f"raised to it {hint}",
    )


def test_min_interval_lowers_the_floor() -> None:
    config = load_config(GOOD / "min_interval.yml", environ={})

    assert config.min_interval == 1.0
    assert config.max_concurrent_requests == 2
    assert [(a.name, a.interval, a.timeout) for a in config.accounts] == [
        ("fast", 5.0, 2.0),
        ("faster", 2.0, 0.5),
    ]
    assert config.warnings == ()


def test_min_interval_still_raises_shorter_intervals() -> None:
    text = """
global:
  min_interval: 10s
accounts:
  - name: sms
    provider: telnyx
    api_key: CANARY-x
    interval: 2s
    timeout: 1s
"""
    config = parse_config(text, "c.yml", {})
    assert config.accounts[0].interval == 10.0
    assert len(config.warnings) == 1
    assert "interval 2s is below the 10s floor" in config.warnings[0]


def test_timeout_is_compared_with_the_raised_interval() -> None:
    # 30s is raised to the 60s floor, so a 45s timeout fits.
    text = """
accounts:
  - name: sms
    provider: telnyx
    api_key: CANARY-x
    interval: 30s
    timeout: 45s
"""
    config = parse_config(text, "c.yml", {})
    assert (config.accounts[0].interval, config.accounts[0].timeout) == (60.0, 45.0)


def test_repr_of_accounts_and_config_shows_no_secret() -> None:
    config = load_config(GOOD / "all_providers.yml", environ={})

    for account in config.accounts:
        assert CANARY not in repr(account)
        assert CANARY not in str(account.secrets)
    assert repr(config).count("Secret('********')") == 7


def test_accounts_compare_by_secret_value() -> None:
    a = parse_config("accounts:\n  - {name: a, provider: telnyx, api_key: CANARY-1}\n", "c.yml", {})
    b = parse_config("accounts:\n  - {name: a, provider: telnyx, api_key: CANARY-2}\n", "c.yml", {})
    assert a != b
    assert a.accounts[0].secrets == {"api_key": Secret("CANARY-1")}


def test_describe_lists_each_account() -> None:
    config = load_config(GOOD / "defaults.yml", environ={})
    assert describe(config) == [
        "inherits: telnyx every 10m",
        "own-interval: youcom every 1h30m",
        "own-timeout: 23telecom every 10m",
    ]


def test_low_balance_thresholds_are_exact_amounts() -> None:
    config = load_config(GOOD / "low_balance.yml", environ={})
    assert [account.low_balance for account in config.accounts] == [
        Decimal("50"),
        Decimal("12.5"),
        Decimal("1000"),
        None,
    ]


# --- settings of other kinds than a string -----------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _KindsSettings(ProviderSettings):
    labels: Mapping[str, str] | None = setting(required=False, kind="mapping")
    factor: Decimal | None = setting(required=False, kind="number", help="a multiplier")
    tags: Mapping[str, str] = setting(kind="mapping")


class _Kinds(Provider[_KindsSettings]):
    name = "kinds"
    default_base_url = "https://api.kinds.example"
    settings_type = _KindsSettings

    def request(self) -> Request:
        return Request(self.base_url)

    def parse(self, response: Response) -> Reading:
        return Reading()


@pytest.fixture
def kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(PROVIDERS, "kinds", _Kinds)


def _kinds_account(lines: str, environ: dict[str, str] | None = None) -> _KindsSettings:
    text = f"accounts:\n  - name: k\n    provider: kinds\n{lines}"
    settings = parse_config(text, "c.yml", environ or {}).accounts[0].settings
    assert isinstance(settings, _KindsSettings)
    return settings


@pytest.mark.usefixtures("kinds")
def test_a_mapping_setting_is_read_only_and_expands_the_environment() -> None:
    settings = _kinds_account(
        "    tags: {team: '${TEAM}', tier: gold}\n    labels: {}\n", {"TEAM": "billing"}
    )
    assert settings.tags == {"team": "billing", "tier": "gold"}
    assert settings.labels == {}
    with pytest.raises(TypeError):
        settings.tags["tier"] = "silver"  # type: ignore[index]
    # Equal configs compare equal: the scheduler keeps unchanged accounts.
    assert _kinds_account("    tags: {tier: gold}\n") == _kinds_account("    tags: {tier: gold}\n")


@pytest.mark.parametrize(
    ("written", "value"),
    [("0.01", "0.01"), ("'0.0001'", "0.0001"), ("5", "5"), ("1e-3", "0.001")],
)
@pytest.mark.usefixtures("kinds")
def test_a_number_setting_is_an_exact_decimal(written: str, value: str) -> None:
    settings = _kinds_account(f"    tags: {{}}\n    factor: {written}\n")
    assert settings.factor == Decimal(value)
    assert isinstance(settings.factor, Decimal)


@pytest.mark.parametrize(
    ("lines", "problems"),
    [
        ("", ["tags: is required"]),
        ("    tags: [a, b]\n", ["tags: must be a mapping of names to strings"]),
        (
            "    tags: {tier: 1, 2: x, '': y, team: '${TEAM}'}\n",
            [
                "tags: tier: must be a string (quote it)",
                "tags: 2 is not a name (quote it)",
                "tags: '' is not a name (quote it)",
                "tags: team: environment variable TEAM is not set",
            ],
        ),
        (
            "    tags: {}\n    factor: lots\n",
            ["factor: must be a number (a multiplier)"],
        ),
        ("    tags: {}\n    factor: .inf\n", ["factor: must be a number (a multiplier)"]),
        ("    tags: {}\n    factor: true\n", ["factor: must be a number (a multiplier)"]),
    ],
    ids=["missing", "not-a-mapping", "bad-entries", "not-a-number", "infinite", "boolean"],
)
@pytest.mark.usefixtures("kinds")
def test_settings_of_other_kinds_are_checked(lines: str, problems: list[str]) -> None:
    assert _text_problems(f"accounts:\n  - name: k\n    provider: kinds\n{lines}") == [
        f"c.yml: accounts[0] 'k': {problem}" for problem in problems
    ]


@pytest.mark.parametrize(
    ("line", "environ", "files"),
    [
        ("api_key: ${KEY}", {"KEY": "CANARY-line\nbreak"}, {}),
        ('api_key: "CANARY-tab\\there"', {}, {}),
        ("api_key_file: key.txt", {}, {"key.txt": b"CANARY-nul\x00inside\n"}),
    ],
    ids=["newline-from-env", "tab-inline", "nul-in-file"],
)
def test_a_secret_with_a_control_character_is_a_config_error(
    tmp_path: Path, line: str, environ: dict[str, str], files: dict[str, bytes]
) -> None:
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    path = tmp_path / "c.yml"
    path.write_text(f"accounts:\n  - name: sms\n    provider: telnyx\n    {line}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=environ)
    key = "api_key_file: key.txt" if files else "api_key:"
    assert caught.value.problems == [
        f"{path}: accounts[0] 'sms': {key} holds a control character (a newline, a tab, a NUL):"
        " not a usable credential"
    ]
    assert CANARY not in str(caught.value)
