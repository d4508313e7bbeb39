"""The files a configuration names: regular files only, within a size limit, never a hang.

A FIFO, a directory or a device named as a configuration, a secret or a certificate is one
line naming it; so is a file over its limit (sparse files make them without the disk cost).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from prometheus_harness import run_exporter

from balance_exporter.config.checker import ConfigError, load_config
from balance_exporter.config.files import (
    CONFIG_LIMIT,
    PEM_LIMIT,
    SECRET_LIMIT,
    FileProblem,
    read_limited,
)
from balance_exporter.config.webconfig import load_web_config

DEADLINE = 20.0  # seconds for a process that must not hang


def sparse(path: Path, size: int) -> Path:
    with path.open("wb") as file:
        file.truncate(size)
    return path


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def config_with_secret_file(tmp_path: Path, secret: str) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(
        f"accounts:\n  - {{name: sms, provider: telnyx, api_key_file: {secret}}}\n",
        encoding="utf-8",
    )
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    return caught.value.problems


def test_a_regular_file_within_its_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_bytes(b"k" * SECRET_LIMIT)
    assert read_limited(path, SECRET_LIMIT) == b"k" * SECRET_LIMIT


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: fifo(p), "is a FIFO, not a regular file"),
        (lambda p: p.mkdir() or p, "is a directory, not a regular file"),
        (lambda p: sparse(p, SECRET_LIMIT + 1), "is larger than 64 KiB"),
    ],
    ids=["fifo", "directory", "too-large"],
)
def test_a_file_that_is_not_a_small_regular_one_is_a_problem(
    tmp_path: Path, make: object, reason: str
) -> None:
    path = tmp_path / "key"
    make(path)  # type: ignore[operator]
    with pytest.raises(FileProblem) as caught:
        read_limited(path, SECRET_LIMIT)
    assert caught.value.about("key") == f"key {reason}"


def test_a_device_is_not_read(tmp_path: Path) -> None:
    with pytest.raises(FileProblem) as caught:
        read_limited(Path("/dev/zero"), SECRET_LIMIT)  # endless: it would fill the memory
    assert caught.value.about("/dev/zero") == "/dev/zero is a character device, not a regular file"


def test_a_nul_byte_in_a_path_is_a_problem_not_an_exception() -> None:
    with pytest.raises(FileProblem, match="NUL byte"):
        read_limited(Path("key\x00file"), SECRET_LIMIT)


@pytest.mark.parametrize(
    ("secret", "make", "line"),
    [
        ("key.fifo", fifo, "api_key_file: key.fifo is a FIFO, not a regular file"),
        ("big.key", lambda p: sparse(p, 1024**3), "api_key_file: big.key is larger than 64 KiB"),
        ("keys", lambda p: p.mkdir() or p, "api_key_file: keys is a directory, not a regular file"),
        ("/dev/zero", None, "api_key_file: /dev/zero is a character device, not a regular file"),
    ],
    ids=["fifo", "sparse-1-GB", "directory", "device"],
)
def test_a_secret_file_that_is_not_a_small_regular_one_is_one_line(
    tmp_path: Path, secret: str, make: object, line: str
) -> None:
    if make is not None:
        make(tmp_path / secret)  # type: ignore[operator]
    config = config_with_secret_file(tmp_path, secret)
    assert problems(config) == [f"{config}: accounts[0] 'sms': {line}"]


def test_a_nul_byte_in_a_secret_path_is_one_line(tmp_path: Path) -> None:
    config = config_with_secret_file(tmp_path, '"a\\0b"')
    assert problems(config) == [
        f"{config}: accounts[0] 'sms': api_key_file: a?b is not a usable path: it holds a NUL byte"
    ]


@pytest.mark.parametrize(
    ("make", "line"),
    [
        (fifo, "the file is a FIFO, not a regular file"),
        (lambda p: sparse(p, CONFIG_LIMIT + 1), "the file is larger than 16 MiB"),
        (lambda p: p.mkdir() or p, "the file is a directory, not a regular file"),
    ],
    ids=["fifo", "too-large", "directory"],
)
def test_a_config_file_that_is_not_a_regular_one_is_one_line(
    tmp_path: Path, make: object, line: str
) -> None:
    path = tmp_path / "config.yml"
    make(path)  # type: ignore[operator]
    assert problems(path) == [f"{path}: {line}"]
    with pytest.raises(ConfigError) as caught:
        load_web_config(path)
    assert caught.value.problems == [f"{path}: {line}"]


def test_a_certificate_that_is_a_fifo_is_one_line(tmp_path: Path) -> None:
    fifo(tmp_path / "server.crt")
    sparse(tmp_path / "server.key", PEM_LIMIT + 1)
    web = tmp_path / "web.yml"
    web.write_text("tls_server_config: {cert_file: server.crt, key_file: server.key}\n")
    with pytest.raises(ConfigError) as caught:
        load_web_config(web)
    assert caught.value.problems == [
        f"{web}: tls_server_config: cert_file: server.crt is a FIFO, not a regular file",
        f"{web}: tls_server_config: key_file: server.key is larger than 1 MiB",
    ]


def test_config_check_with_a_fifo_secret_exits_2_at_once(tmp_path: Path) -> None:
    fifo(tmp_path / "key.fifo")
    config = config_with_secret_file(tmp_path, "key.fifo")
    result = run_exporter(
        "--config.check", "--config.file", str(config), cwd=tmp_path, timeout=DEADLINE
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"{config}: accounts[0] 'sms': api_key_file: key.fifo is a FIFO, not a regular file\n"
    )
