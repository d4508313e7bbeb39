"""Reading the files a configuration names: regular files only, each within a size limit.

A FIFO, a device or a directory would block the reader (and every reload behind it) or feed it
without end; a huge file would fill the memory. Either is a one-line problem instead.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

KIB = 1024
MIB = 1024 * KIB
CONFIG_LIMIT = 16 * MIB  # a configuration file
SECRET_LIMIT = 64 * KIB  # a secret file
PEM_LIMIT = 1 * MIB  # a certificate, key or CA bundle

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class FileProblem(Exception):
    """Why a file cannot be read: ``reason`` follows the file's name ("is a FIFO, not a
    regular file"), or ``error`` is the system's word for a file that cannot be opened."""

    def __init__(self, reason: str = "", error: str = "") -> None:
        super().__init__(reason or error)
        self.reason = reason
        self.error = error

    def about(self, name: str) -> str:
        """The problem, naming the file as ``name``."""
        return f"cannot read {name}: {self.error}" if self.error else f"{name} {self.reason}"


def read_limited(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, or FileProblem: not regular, too large, or
    unreadable. Never blocks on a FIFO and never reads past ``limit`` + 1 bytes."""
    if "\x00" in str(path):
        raise FileProblem("is not a usable path: it holds a NUL byte")
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
            raise FileProblem(f"is {kind}, not a regular file")
        # O_NONBLOCK: should the path be swapped for a FIFO after the check, open() still returns.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(descriptor, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise FileProblem("is not a regular file")
            data = file.read(limit + 1)
    except OSError as exc:
        raise FileProblem(error=exc.strerror or type(exc).__name__) from None
    if len(data) > limit:
        raise FileProblem(f"is larger than {_size(limit)}")
    return data


def _size(limit: int) -> str:
    return f"{limit // MIB} MiB" if limit >= MIB else f"{limit // KIB} KiB"
