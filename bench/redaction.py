"""Redaction cost per failed poll: today's (each account's redaction made once, when its config
is loaded, in time linear in the secret) against the baseline (one alternative per prefix of
every secret form, compiled with IGNORECASE at every failure: quadratic, and past 512 accounts
the regex cache no longer holds the patterns).

A failed poll redacts its message once. Rows: a 64 B key on one account, a 64 B key on each of
1,000 accounts failing in turn (the regex cache's 512 entries thrash), a 4 KiB key on one
account (the baseline takes tens of seconds here: it runs once).

Run: python -m bench.redaction [--polls N]
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable, Iterable

from balance_exporter.config.account import AccountConfig
from balance_exporter.config.secret import FRAGMENT, Secret
from balance_exporter.polling.poll import AccountRedaction
from balance_exporter.providers.base import adapter
from balance_exporter.providers.registry import PROVIDERS
from balance_exporter.providers.telnyx import TelnyxSettings
from bench.common import Column, print_table

Redact = Callable[[str], str]


def baseline_redact(text: str, secrets: Iterable[Secret]) -> str:
    """The redaction before this change, kept here as the benchmark's baseline."""
    pieces = {
        value[:size]
        for value in (secret.reveal() for secret in secrets)
        if len(value) >= 4
        for size in range(len(value), min(len(value), FRAGMENT) - 1, -1)
    }
    if not pieces:
        return text
    pattern = "|".join(re.escape(piece) for piece in sorted(pieces, key=len, reverse=True))
    return re.sub(pattern, "********", text, flags=re.IGNORECASE)


def key(index: int, size: int) -> str:
    stem = f"KEY{index:05d}"
    return (stem + "".join(chr(48 + (index * 31 + i * 7) % 75) for i in range(size)))[:size]


def account(index: int, size: int) -> AccountConfig:
    return AccountConfig(
        name=f"account-{index:05d}",
        provider="telnyx",
        interval=60.0,
        timeout=15.0,
        settings=TelnyxSettings(api_key=Secret(key(index, size))),
    )


def message(secret: str) -> str:
    return f'HTTP 401, telnyx code 10009: invalid API key "{secret[:40]}"'


def measure(accounts: list[AccountConfig], polls: int, today: bool) -> list[float]:
    """Seconds per failed poll, the accounts failing in turn."""
    providers = [adapter(one, PROVIDERS) for one in accounts]
    prepared = [AccountRedaction(provider) for provider in providers]  # at config load
    texts = [message(one.secrets["api_key"].reveal()) for one in accounts]
    samples = []
    for poll in range(polls):
        index = poll % len(accounts)
        started = time.perf_counter()
        if today:
            prepared[index].redaction.apply(texts[index])
        else:
            forms = list(accounts[index].secrets.values())
            baseline_redact(texts[index], forms)
        samples.append(time.perf_counter() - started)
    return samples


def main(polls: int) -> None:
    re.purge()
    cases = [
        ("64 B key, 1 account", [account(0, 64)], polls),
        ("64 B key, 1,000 accounts", [account(i, 64) for i in range(1_000)], polls),
        ("4 KiB key, 1 account", [account(0, 4_096)], polls),
    ]
    rows: list[tuple[str, list[float]]] = []
    for label, accounts, count in cases:
        baseline_count = 1 if label.startswith("4 KiB") else count
        rows.append((f"{label}: baseline", measure(accounts, baseline_count, today=False)))
        rows.append((f"{label}: today", measure(accounts, count, today=True)))
    print_table(
        "Redaction per failed poll (ms)",
        "case",
        36,
        rows,
        Column("max ms", 10, lambda timings: f"{timings.maximum * 1000:.3f}"),
    )
    print()
    print("speed-up (baseline median / today's median):")
    for (label, old), (_, new) in zip(rows[::2], rows[1::2], strict=True):
        ratio = sorted(old)[len(old) // 2] / sorted(new)[len(new) // 2]
        print(f"  {label.removesuffix(': baseline'):<28} {ratio:>12,.0f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=2_000, help="failed polls per case")
    main(parser.parse_args().polls)
