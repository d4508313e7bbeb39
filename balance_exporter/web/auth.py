"""HTTP basic auth against bcrypt hashes, as exporter-toolkit's ``basic_auth_users`` does.

bcrypt is slow on purpose, so checks run in a worker thread, never on the event loop, and
a successful check is remembered (keyed by an HMAC of the credentials, never the password).
The checks have their own small pool, so that a flood of wrong passwords queues there and
never holds up rendering or a reload, and only so many may wait: past that, a check is
refused at once (the client is told to come back) instead of queueing without end.
An unknown user is checked against a dummy hash of the same cost, so that it takes as long
as a wrong password and the answer time does not tell which user names exist.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import bcrypt
from aiohttp import BasicAuth

from balance_exporter.config.secret import Secret

CACHE_SIZE = 256  # distinct successful credentials remembered
DEFAULT_COST = 10
CHECK_THREADS = 2
MAX_WAITING_CHECKS = 32  # bcrypt checks queued or running, at most

# One pool for the process: a reload replaces the checker, not the threads.
PASSWORD_CHECKS = ThreadPoolExecutor(CHECK_THREADS, thread_name_prefix="password-check")


class ChecksBusy(Exception):
    """Too many password checks are waiting already; this one was not made."""


class BasicAuthChecker:
    def __init__(self, users: Mapping[str, Secret]) -> None:
        self.users = dict(users)
        self._key = os.urandom(32)
        self._passed: OrderedDict[bytes, None] = OrderedDict()
        self.waiting = 0
        cost = max((_cost(hashed.reveal()) for hashed in self.users.values()), default=DEFAULT_COST)
        self._dummy = bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(rounds=cost))

    async def check(self, header: str | None) -> bool:
        """True when the Authorization header names a user and that user's password;
        ChecksBusy when too many checks wait already."""
        if not header:
            return False
        try:
            credentials = BasicAuth.decode(header, encoding="utf-8")
        except ValueError:
            return False
        password = credentials.password.encode("utf-8")
        token = hmac.new(
            self._key, credentials.login.encode("utf-8") + b"\0" + password, hashlib.sha256
        ).digest()
        if token in self._passed:
            self._passed.move_to_end(token)
            return True
        hashed = self.users.get(credentials.login)
        reference = hashed.reveal().encode() if hashed is not None else self._dummy
        if self.waiting >= MAX_WAITING_CHECKS:
            raise ChecksBusy
        self.waiting += 1
        try:
            loop = asyncio.get_running_loop()
            matches = await loop.run_in_executor(PASSWORD_CHECKS, _checkpw, password, reference)
        finally:
            self.waiting -= 1
        if not (matches and hashed is not None):
            return False
        self._passed[token] = None
        if len(self._passed) > CACHE_SIZE:
            self._passed.popitem(last=False)
        return True


def _checkpw(password: bytes, hashed: bytes) -> bool:
    try:
        return bcrypt.checkpw(password, hashed)
    except ValueError:  # a hash bcrypt cannot read: no password matches it
        return False


def _cost(hashed: str) -> int:
    """The cost factor of a $2x$NN$ hash."""
    try:
        return max(4, min(31, int(hashed.split("$")[2])))
    except (IndexError, ValueError):
        return DEFAULT_COST
