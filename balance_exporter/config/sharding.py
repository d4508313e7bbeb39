"""Sharding: which of N exporters polls an account, from a stable hash of its name.

Every shard reads the same configuration and keeps the accounts whose hash falls to it, so
N processes (a StatefulSet's pods) poll each account exactly once between them. The hash is
SHA-256, never Python's ``hash()``, which is salted per process: every shard, every restart
and every Python version must agree on where an account goes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from balance_exporter.config.checker import Config

# A StatefulSet names its pods <name>-<ordinal>; ASCII digits only (\d takes any script's).
_ORDINAL = re.compile(r"-([0-9]+)\Z")


NAME_HASH_BITS = 64


def name_hash(name: str) -> int:
    """A number from an account's name, the same in every process and release: the first
    8 bytes of its SHA-256. It places the account in a shard and in its poll interval."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")


def shard_of(name: str, count: int) -> int:
    """The shard, 0 to count - 1, that polls the account called ``name``."""
    return name_hash(name) % count


def ordinal(hostname: str) -> int:
    """The StatefulSet ordinal a hostname ends in: 2 for ``balance-exporter-2``."""
    host = hostname.partition(".")[0]  # a fully qualified name: the pod's own label only
    match = _ORDINAL.search(host)
    if match is None:
        raise ValueError(
            f"--shard.index is not given and the hostname {hostname[:64]!r} does not end in "
            "a StatefulSet ordinal (-0, -1, ...): give --shard.index"
        )
    return int(match.group(1))


def _indexes(count: int) -> str:
    return "0" if count == 1 else f"from 0 to {count - 1}"


@dataclass(frozen=True)
class Shard:
    count: int = 1
    index: int = 0

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"--shard.count must be at least 1, not {self.count}")
        if not 0 <= self.index < self.count:
            raise ValueError(
                f"--shard.index must be {_indexes(self.count)} for --shard.count {self.count}, "
                f"not {self.index}"
            )

    @classmethod
    def from_flags(cls, count: int, index: int | None, hostname: Callable[[], str]) -> Shard:
        """The shard the flags name; without an index, one of several takes the hostname's."""
        if count > 1 and index is None:
            return cls.from_hostname(hostname(), count)
        return cls(count, 0 if index is None else index)

    @classmethod
    def from_hostname(cls, hostname: str, count: int) -> Shard:
        index = ordinal(hostname)
        if count >= 1 and index >= count:  # said with the hostname, where the number came from
            raise ValueError(
                f"--shard.index from the hostname {hostname[:64]!r} is {index}, but must be "
                f"{_indexes(count)} for --shard.count {count}"
            )
        return cls(count, index)

    def owns(self, account_name: str) -> bool:
        return shard_of(account_name, self.count) == self.index

    def restrict(self, config: Config) -> Config:
        """``config`` with only this shard's accounts (the others are neither polled nor shown)."""
        if self.count == 1:
            return config
        owned = tuple(account for account in config.accounts if self.owns(account.name))
        return replace(config, accounts=owned)

    def loader(self, load: Callable[[], Config]) -> Callable[[], Config]:
        """``load`` cut to this shard, for start-up and every reload alike."""
        return lambda: self.restrict(load())

    def __str__(self) -> str:
        return f"shard {self.index} of {self.count}"
