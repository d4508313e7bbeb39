"""The YAML configuration: strict parsing, every problem reported at once, secrets resolved.

A problem is one line naming the file, the account and the key; a secret's value is never
part of one. ``load_config`` either returns a complete Config or raises ConfigError.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from balance_exporter.config.account import AccountConfig
from balance_exporter.config.durations import format_duration, parse_duration
from balance_exporter.config.files import SECRET_LIMIT, FileProblem, read_limited
from balance_exporter.config.secret import Secret
from balance_exporter.config.settings import Field, settings_fields
from balance_exporter.config.yamlfile import Checker, read_text, shown, shown_path
from balance_exporter.config.yamlfile import ConfigError as ConfigError
from balance_exporter.providers.registry import PROVIDERS

DEFAULT_INTERVAL = 300.0
DEFAULT_TIMEOUT = 15.0
DEFAULT_MIN_INTERVAL = 60.0
DEFAULT_MAX_CONCURRENT_REQUESTS = 8

TOP_KEYS = ("global", "defaults", "accounts")
GLOBAL_KEYS = ("min_interval", "max_concurrent_requests")
DEFAULT_KEYS = ("interval", "timeout")
COMMON_ACCOUNT_KEYS = ("name", "provider", "interval", "timeout", "base_url", "low_balance")
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Config:
    accounts: tuple[AccountConfig, ...] = ()
    min_interval: float = DEFAULT_MIN_INTERVAL
    max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS
    warnings: tuple[str, ...] = field(default=(), compare=False)


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    return parse_config(
        read_text(path), str(path), os.environ if environ is None else environ, Path(path).parent
    )


def parse_config(
    text: str,
    source: str = "<config>",
    environ: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
) -> Config:
    environ = os.environ if environ is None else environ
    return _Parser(source, environ, base_dir or Path(".")).check(text)


class _Parser(Checker[Config]):
    def __init__(self, source: str, environ: Mapping[str, str], base_dir: Path) -> None:
        super().__init__(source)
        self.environ = environ
        self.base_dir = base_dir
        self.warnings: list[str] = []

    def parse(self, document: Any) -> Config:
        if document is None:
            document = {}
        if not isinstance(document, dict):
            self.problem("top level", "expected a mapping with an 'accounts' list")
            return Config()
        self.unknown_keys(document, TOP_KEYS, "top level")

        settings = self.section(document, "global", GLOBAL_KEYS)
        min_interval = self.duration(settings, "min_interval", "global", DEFAULT_MIN_INTERVAL)
        max_requests = self.positive_int(
            settings, "max_concurrent_requests", "global", DEFAULT_MAX_CONCURRENT_REQUESTS
        )
        defaults = self.section(document, "defaults", DEFAULT_KEYS)
        interval = self.duration(defaults, "interval", "defaults", DEFAULT_INTERVAL)
        timeout = self.duration(defaults, "timeout", "defaults", DEFAULT_TIMEOUT)

        raw_accounts = document.get("accounts")
        if raw_accounts is None:
            self.problem("accounts", "is required: a list of accounts to poll")
            raw_accounts = []
        elif not isinstance(raw_accounts, list):
            self.problem("accounts", "must be a list")
            raw_accounts = []

        accounts: list[AccountConfig] = []
        names: dict[str, int] = {}
        for index, raw in enumerate(raw_accounts):
            account = self.account(index, raw, interval, timeout, min_interval)
            # Names are compared whether or not the accounts are otherwise valid.
            name = raw.get("name") if isinstance(raw, dict) else None
            if isinstance(name, str) and name.strip():
                if name in names:
                    self.problem(
                        f"accounts[{index}] {shown(name)}",
                        f"name: duplicate of accounts[{names[name]}]; names must be unique",
                    )
                    continue
                names[name] = index
            if account is not None:
                accounts.append(account)
        return Config(tuple(accounts), min_interval, max_requests, tuple(self.warnings))

    def duration(self, mapping: dict[str, Any], key: str, where: str, default: float) -> float:
        value = mapping.get(key)
        if value is None:
            return default
        try:
            if not isinstance(value, str):
                raise ValueError(f"{shown(value)} is not a duration like 30s, 5m or 1h")
            return parse_duration(value)
        except ValueError as exc:
            self.problem(where, f"{key}: {exc}")
            return default

    def positive_int(self, mapping: dict[str, Any], key: str, where: str, default: int) -> int:
        value = mapping.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.problem(where, f"{key}: must be a whole number of at least 1")
            return default
        return value

    def account(
        self, index: int, raw: Any, interval: float, timeout: float, min_interval: float
    ) -> AccountConfig | None:
        where = f"accounts[{index}]"
        if not isinstance(raw, dict):
            self.problem(where, "must be a mapping with name and provider")
            return None
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            self.problem(where, "name: is required (a non-empty string)")
            name = None
        else:
            where = f"{where} {shown(name)}"
        provider_name = raw.get("provider")
        provider = PROVIDERS.get(provider_name) if isinstance(provider_name, str) else None
        if provider is None:
            known = ", ".join(sorted(PROVIDERS))
            message = (
                "is required"
                if provider_name is None
                else f"unknown provider {shown(provider_name)}"
            )
            self.problem(where, f"provider: {message} (known: {known})")
            return None

        fields = settings_fields(provider.settings_type)
        allowed = (
            COMMON_ACCOUNT_KEYS
            + tuple(spec.name for spec in fields)
            + tuple(f"{spec.name}_file" for spec in fields if spec.secret)
        )
        self.unknown_keys(raw, allowed, where)

        count = len(self.problems)
        account_interval = self.duration(raw, "interval", where, interval)
        account_timeout = self.duration(raw, "timeout", where, timeout)
        if account_interval < min_interval:
            self.warnings.append(
                f"{self.source}: {where}: interval {format_duration(account_interval)} is below "
                f"the {format_duration(min_interval)} floor, raised to it "
                "(global.min_interval lowers the floor for simulators and tests)"
            )
            account_interval = min_interval
        if account_timeout >= account_interval:
            self.problem(where, "timeout: must be shorter than the interval")
        base_url = self.text(raw, "base_url", where)
        if base_url is not None:
            self.check_url(base_url, where)
        low_balance = self.threshold(raw, "low_balance", where)

        values: dict[str, object] = {}
        for spec in fields:
            if spec.secret:
                values[spec.name] = self.secret(raw, spec, where)
            elif spec.kind == "mapping":
                values[spec.name] = self.mapping(raw, spec, where)
            elif spec.kind == "number":
                values[spec.name] = self.number(raw, spec, where)
            else:
                values[spec.name] = self.setting(raw, spec, where)
        # A secret that was given but could not be resolved has its own problem already;
        # the cross-field check counts it as given rather than report it missing too.
        given = frozenset(
            spec.name
            for spec in fields
            if raw.get(spec.name) is not None
            or (spec.secret and raw.get(f"{spec.name}_file") is not None)
        )
        for key, message in provider.check(values, given, base_url):
            self.problem(where, f"{key}: {message}")
        if name is None or len(self.problems) > count:
            return None
        return AccountConfig(
            name=name,
            provider=provider.name,
            interval=account_interval,
            timeout=account_timeout,
            base_url=base_url,
            settings=provider.settings_type(**values),
            low_balance=low_balance,
        )

    def threshold(self, raw: dict[str, Any], key: str, where: str) -> Decimal | None:
        """An amount in the account's currency: a YAML number or a numeric string."""
        value = raw.get(key)
        if value is None:
            return None
        amount = _decimal(value)
        if amount is None:
            self.problem(where, f"{key}: must be a number (an amount in the account's currency)")
        return amount

    def number(self, raw: dict[str, Any], spec: Field, where: str) -> Decimal | None:
        """A setting of kind ``number``: a YAML number or a numeric string, exact."""
        value = raw.get(spec.name)
        if value is None:
            if spec.required:
                self.problem(where, f"{spec.name}: is required")
            return None
        number = _decimal(value)
        if number is None:
            self.problem(where, f"{spec.name}: must be a number ({spec.help or 'see the docs'})")
        return number

    def mapping(self, raw: dict[str, Any], spec: Field, where: str) -> Mapping[str, str] | None:
        """A setting of kind ``mapping``: names to strings, each value ``${ENV}``-expanded."""
        value = raw.get(spec.name)
        if value is None:
            if spec.required:
                self.problem(where, f"{spec.name}: is required")
            return None
        if not isinstance(value, dict):
            self.problem(where, f"{spec.name}: must be a mapping of names to strings")
            return None
        result: dict[str, str] = {}
        for name, item in value.items():
            if not isinstance(name, str) or not name.strip():
                self.problem(where, f"{spec.name}: {shown(name)} is not a name (quote it)")
            elif not isinstance(item, str):
                self.problem(where, f"{spec.name}: {name}: must be a string (quote it)")
            else:
                expanded = self.expand(item, f"{spec.name}: {name}", where)
                if expanded is not None:
                    result[name] = expanded
        # Read-only, as the frozen settings that hold it. After a problem, what could be read
        # still goes to the provider's own checks, so that every problem is reported at once.
        return MappingProxyType(result)

    def text(self, raw: dict[str, Any], key: str, where: str) -> str | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.problem(where, f"{key}: must be a string (quote it)")
            return None
        return self.expand(value, key, where)

    def expand(self, value: str, key: str, where: str) -> str | None:
        missing = [m for m in _ENV_REFERENCE.findall(value) if m not in self.environ]
        for variable in missing:
            self.problem(where, f"{key}: environment variable {variable} is not set")
        if missing:
            return None
        return _ENV_REFERENCE.sub(lambda m: self.environ[m.group(1)], value)

    def setting(self, raw: dict[str, Any], spec: Field, where: str) -> str | None:
        value = self.text(raw, spec.name, where)
        if value is None:
            if spec.name not in raw and spec.required:
                self.problem(where, f"{spec.name}: is required")
            return spec.default
        if spec.choices and value not in spec.choices:
            self.problem(where, f"{spec.name}: must be one of {', '.join(spec.choices)}")
        if spec.pattern is not None and not spec.pattern.fullmatch(value):
            self.problem(where, f"{spec.name}: not a valid value ({spec.help or 'see the docs'})")
        return value

    def secret(self, raw: dict[str, Any], spec: Field, where: str) -> Secret | None:
        file_key = f"{spec.name}_file"
        inline, from_file = raw.get(spec.name), raw.get(file_key)
        if inline is not None and from_file is not None:
            self.problem(where, f"{spec.name}: give {spec.name} or {file_key}, not both")
            return None
        if from_file is not None:
            path = self.text(raw, file_key, where)
            return None if path is None else self.read_secret(path, file_key, where)
        if inline is None:
            if spec.required:
                self.problem(where, f"{spec.name}: is required (or {file_key})")
            return None
        if not isinstance(inline, str):
            self.problem(where, f"{spec.name}: must be a string (quote it)")
            return None
        value = self.expand(inline, spec.name, where)
        if value is None:
            return None
        if not value.strip():
            self.problem(where, f"{spec.name}: is empty")
            return None
        if _has_control(value):
            self.problem(where, f"{spec.name}: {CONTROL}")
            return None
        return Secret(value)

    def read_secret(self, path: str, key: str, where: str) -> Secret | None:
        shown = shown_path(path)
        try:
            full = self.base_dir / Path(path).expanduser()
            value = read_limited(full, SECRET_LIMIT).decode("utf-8").rstrip("\r\n")
        except FileProblem as exc:
            self.problem(where, f"{key}: {exc.about(shown)}")
            return None
        except UnicodeDecodeError:
            self.problem(where, f"{key}: {shown} is not UTF-8 text")
            return None
        except (RuntimeError, ValueError):  # ~user that does not exist, a NUL in the path
            self.problem(where, f"{key}: {shown}: not a usable path")
            return None
        if not value.strip():
            self.problem(where, f"{key}: {path} is empty")
            return None
        if _has_control(value):
            self.problem(where, f"{key}: {shown} {CONTROL}")
            return None
        return Secret(value)

    def check_url(self, url: str, where: str) -> None:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            self.problem(where, "base_url: not a valid URL")
            return
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.problem(where, "base_url: must be an http:// or https:// URL with a host")
        elif parts.username or parts.password:
            self.problem(where, "base_url: must not hold credentials; use the secret fields")
        elif parts.query or parts.fragment:
            self.problem(where, "base_url: must not have a query or fragment")


def _decimal(value: Any) -> Decimal | None:
    """A YAML number or a numeric string as an exact, finite Decimal; None otherwise. A YAML
    float is read from its shortest text (0.01 stays 0.01)."""
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return None
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


# No request can carry it: every poll would fail and seem to be the provider's fault.
CONTROL = "holds a control character (a newline, a tab, a NUL): not a usable credential"


def _has_control(value: str) -> bool:
    return any(unicodedata.category(char) == "Cc" for char in value)


def describe(config: Config) -> list[str]:
    """One line per account, for --config.check."""
    return [
        f"{account.name}: {account.provider} every {format_duration(account.interval)}"
        for account in config.accounts
    ]
