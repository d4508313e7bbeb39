"""Log lines: logfmt quoting and escaping, the JSON form, extra fields and level names."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from decimal import Decimal

import pytest

from balance_exporter.logs import LEVELS, JsonFormatter, LogfmtFormatter, setup_logging

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _record(
    msg: str = "poll failed",
    level: int = logging.WARNING,
    name: str = "balance_exporter.scheduler",
    **extra: object,
) -> logging.LogRecord:
    record = logging.LogRecord(name, level, __file__, 1, msg, None, None)
    record.created = 1_767_225_600.25  # 2026-01-01T00:00:00.250Z
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def _logfmt(record: logging.LogRecord) -> str:
    return LogfmtFormatter().format(record)


def _json(record: logging.LogRecord) -> dict[str, object]:
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert isinstance(parsed, dict)
    return parsed


@pytest.fixture
def root_logging() -> Iterator[None]:
    """setup_logging changes the root logger; put it back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    access = logging.getLogger("aiohttp.access").level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(access)


def test_logfmt_line_with_the_standard_fields_first() -> None:
    line = _logfmt(_record(account="sms-eu", provider="telnyx", reason="auth", status=401))
    assert line == (
        "ts=2026-01-01T00:00:00.250Z level=warn source=scheduler "
        'msg="poll failed" account=sms-eu provider=telnyx reason=auth status=401'
    )


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("plain", "plain"),
        ("sms-eu", "sms-eu"),
        ("12.50", "12.50"),
        ("", '""'),
        ("two words", '"two words"'),
        ("a=b", '"a=b"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("line\nbreak", '"line\\nbreak"'),
        ("carriage\rreturn", '"carriage\\rreturn"'),
        ("tab\there", '"tab\\there"'),
        ("\x1b[31mred", '"\\u001b[31mred"'),
        ("nul\x00", '"nul\\u0000"'),
        ("sep\u2028arator", '"sep\\u2028arator"'),
        ("café", "café"),
        (401, "401"),
        (1.5, "1.5"),
        (True, "True"),
        (Decimal("7189.245"), "7189.245"),
    ],
)
def test_logfmt_quoting_and_escaping(value: object, written: str) -> None:
    line = _logfmt(_record(value=value))
    assert line.endswith(f" value={written}")
    assert "\n" not in line
    assert "\r" not in line
    assert line.isprintable()


def test_logfmt_message_is_quoted_and_escaped() -> None:
    line = _logfmt(_record(msg='bad "answer"\nsecond line'))
    assert 'msg="bad \\"answer\\"\\nsecond line"' in line


def test_message_arguments_are_interpolated() -> None:
    record = logging.LogRecord(
        "balance_exporter.cli", logging.INFO, __file__, 1, "%d accounts", (3,), None
    )
    assert 'msg="3 accounts"' in _logfmt(record)


def test_none_and_private_extra_fields_are_left_out() -> None:
    line = _logfmt(_record(account="a", code=None, _internal="x"))
    assert line.endswith('msg="poll failed" account=a')


def test_source_drops_the_package_prefix_only() -> None:
    assert " source=daemon " in _logfmt(_record(name="balance_exporter.daemon"))
    assert " source=aiohttp.access " in _logfmt(_record(name="aiohttp.access"))


@pytest.mark.parametrize(
    ("level", "name"),
    [
        (logging.DEBUG, "debug"),
        (logging.INFO, "info"),
        (logging.WARNING, "warn"),
        (logging.ERROR, "error"),
        (logging.CRITICAL, "error"),
        (25, "level 25"),
    ],
)
def test_level_names(level: int, name: str) -> None:
    assert _json(_record(level=level))["level"] == name
    written = f'"{name}"' if " " in name else name
    assert f" level={written} " in _logfmt(_record(level=level))


def test_level_flag_values() -> None:
    assert LEVELS == {
        "debug": logging.DEBUG,
        "info": logging.INFO,
        "warn": logging.WARNING,
        "error": logging.ERROR,
    }


def test_json_line() -> None:
    record = _record(
        account="sms-eu",
        provider="telnyx",
        reason="auth",
        status=401,
        code="10009",
        retry_after=None,
        balance=Decimal("12.50"),
        blocked=False,
        error='HTTP 401: "bad"\nkey',
    )
    assert _json(record) == {
        "ts": "2026-01-01T00:00:00.250Z",
        "level": "warn",
        "source": "scheduler",
        "msg": "poll failed",
        "account": "sms-eu",
        "provider": "telnyx",
        "reason": "auth",
        "status": 401,
        "code": "10009",
        "balance": "12.50",
        "blocked": False,
        "error": 'HTTP 401: "bad"\nkey',
    }


def test_json_keeps_non_ascii_text() -> None:
    line = JsonFormatter().format(_record(account="café"))
    assert '"account": "café"' in line


def test_exception_is_one_field_not_a_traceback() -> None:
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        record = logging.LogRecord(
            "balance_exporter.scheduler",
            logging.ERROR,
            __file__,
            1,
            "internal error while polling",
            None,
            sys.exc_info(),
        )
    line = _logfmt(record)
    assert line.endswith('exc="ValueError: bad\\nvalue"')
    assert "Traceback" not in line
    assert _json(record)["exc"] == "ValueError: bad\nvalue"


def test_timestamps_are_utc_milliseconds() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    assert TS.match(str(_json(record)["ts"]))


@pytest.mark.usefixtures("root_logging")
def test_setup_logging_logfmt_with_level_filter() -> None:
    stream = io.StringIO()
    setup_logging("warn", "logfmt", stream)

    log = logging.getLogger("balance_exporter.test")
    log.info("hidden")
    log.warning("shown", extra={"account": "a b"})

    [line] = stream.getvalue().splitlines()
    assert re.fullmatch(r'ts=\S+ level=warn source=test msg=shown account="a b"', line), line
    assert len(logging.getLogger().handlers) == 1


@pytest.mark.usefixtures("root_logging")
def test_setup_logging_json_replaces_earlier_handlers() -> None:
    first, second = io.StringIO(), io.StringIO()
    setup_logging("info", "logfmt", first)
    setup_logging("debug", "json", second)

    logging.getLogger("balance_exporter.test").debug("details", extra={"n": 1})

    assert first.getvalue() == ""
    [line] = second.getvalue().splitlines()
    parsed = json.loads(line)
    assert (parsed["level"], parsed["source"], parsed["msg"], parsed["n"]) == (
        "debug",
        "test",
        "details",
        1,
    )


@pytest.mark.usefixtures("root_logging")
@pytest.mark.parametrize(("level", "access"), [("debug", logging.DEBUG), ("info", logging.WARNING)])
def test_access_log_only_at_debug(level: str, access: int) -> None:
    setup_logging(level, "logfmt", io.StringIO())
    assert logging.getLogger("aiohttp.access").level == access
