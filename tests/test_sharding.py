"""Sharding: the stable hash, the hostname's ordinal, the flags, and three shards sharing one
config against the simulator, each account polled by exactly one of them, reloads included."""

from __future__ import annotations

import asyncio
import socket
from argparse import Namespace
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from pathlib import Path

import pytest
from fakeclock import FakeClock
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_harness import environment, run_exporter, run_exporter_async
from support import accounts_in

from balance_exporter import cli
from balance_exporter.cli import parse_args
from balance_exporter.config.checker import Config, load_config, parse_config
from balance_exporter.config.sharding import Shard, ordinal, shard_of
from balance_exporter.config.webconfig import WebConfig
from balance_exporter.daemon import Daemon
from balance_exporter.demo import RunningSimulator, start_simulator
from balance_exporter.metrics.renderer import render
from balance_exporter.simulator import SimAccount, Simulator

CANARY = "CANARY-shard"
ACCOUNTS = [f"acct-{number:02d}" for number in range(30)]
UNREACHABLE = "http://127.0.0.1:9"  # for configs that are loaded but never polled


def key(name: str) -> str:
    return f"{CANARY}-{name}-key"


def write_config(path: Path, names: Iterable[str], url: str) -> None:
    path.write_text(
        "accounts:\n"
        + "".join(
            f"  - {{name: {name}, provider: telnyx, api_key: {key(name)}, base_url: '{url}'}}\n"
            for name in names
        ),
        encoding="utf-8",
    )


def owned(names: Iterable[str], shard: Shard) -> set[str]:
    return {name for name in names if shard_of(name, shard.count) == shard.index}


# --- the hash ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shards"),
    [
        # Written out: a change of hash function moves accounts between pods, so it must fail
        # here; so would Python's hash(), whose seed differs from one process to the next.
        ("sms-eu", [0, 0, 0, 3]),
        ("voice", [0, 0, 1, 5]),
        ("bulk-sms", [0, 2, 1, 1]),
        ("search", [1, 2, 4, 2]),
        ("sms-uk", [1, 1, 2, 3]),
        ("résumé", [1, 0, 2, 6]),
    ],
)
def test_an_account_name_always_falls_to_the_same_shard(name: str, shards: list[int]) -> None:
    assert [shard_of(name, count) for count in (2, 3, 5, 7)] == shards


def test_the_hash_is_the_first_8_bytes_of_sha256_big_endian() -> None:
    assert shard_of("sms-eu", 2**64) == 357230383581821970
    assert shard_of("voice", 2**64) == 14230669563117635766


@pytest.mark.parametrize("count", [2, 3, 5])
def test_names_spread_evenly_over_the_shards(count: int) -> None:
    names = [f"account-{number}" for number in range(1000 * count)]
    spread = Counter(shard_of(name, count) for name in names)
    assert sorted(spread) == list(range(count))
    assert all(900 <= spread[index] <= 1100 for index in range(count)), spread


@pytest.mark.parametrize("count", [1, 2, 3, 4, 6])
def test_every_name_is_owned_by_exactly_one_shard(count: int) -> None:
    for name in ACCOUNTS:
        owners = [index for index in range(count) if Shard(count, index).owns(name)]
        assert owners == [shard_of(name, count)]


def test_restrict_keeps_the_owned_accounts_and_the_rest_of_the_config() -> None:
    text = "global: {max_concurrent_requests: 3}\naccounts:\n" + "".join(
        f"  - {{name: {name}, provider: telnyx, api_key: k}}\n" for name in ACCOUNTS
    )
    config = parse_config(text, environ={})
    shard = Shard(3, 2)
    restricted = shard.restrict(config)
    assert [a.name for a in restricted.accounts] == [
        name for name in ACCOUNTS if name in owned(ACCOUNTS, shard)
    ]
    assert restricted.max_concurrent_requests == 3
    assert Shard().restrict(config) is config


# --- the hostname ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hostname", "index"),
    [
        ("balance-exporter-2", 2),
        ("balance-exporter-0", 0),
        ("web-1-12", 12),
        ("exporter-007", 7),
        ("balance-exporter-1.balance-exporter.monitoring.svc.cluster.local", 1),
    ],
)
def test_the_ordinal_is_the_hostnames_trailing_number(hostname: str, index: int) -> None:
    assert ordinal(hostname) == index


@pytest.mark.parametrize(
    "hostname",
    [
        "laptop",
        "",
        "balance-exporter-",
        "balance-exporter-2a",
        "exporter-\u0663",
        "exporter.monitoring-3",
    ],
)
def test_a_hostname_without_an_ordinal_is_one_line(hostname: str) -> None:
    with pytest.raises(ValueError, match="does not end in a StatefulSet ordinal") as raised:
        ordinal(hostname)
    assert "\n" not in str(raised.value)
    assert "give --shard.index" in str(raised.value)


def test_an_index_is_read_from_the_hostname_only_when_needed() -> None:
    def no_hostname() -> str:
        raise AssertionError("the hostname was read")

    assert Shard.from_flags(1, None, no_hostname) == Shard(1, 0)
    assert Shard.from_flags(3, 1, no_hostname) == Shard(3, 1)
    assert Shard.from_flags(3, None, lambda: "balance-exporter-2") == Shard(3, 2)
    assert str(Shard(3, 2)) == "shard 2 of 3"


# --- the flags ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "hostname", "message"),
    [
        (["--shard.count", "0"], "laptop", "--shard.count must be at least 1, not 0"),
        (
            ["--shard.count", "three"],
            "laptop",
            "argument --shard.count: invalid int value: 'three'",
        ),
        (
            ["--shard.count", "3", "--shard.index", "3"],
            "balance-exporter-0",
            "--shard.index must be from 0 to 2 for --shard.count 3, not 3",
        ),
        (
            ["--shard.count", "3", "--shard.index", "-1"],
            "balance-exporter-0",
            "--shard.index must be from 0 to 2 for --shard.count 3, not -1",
        ),
        (["--shard.index", "1"], "laptop", "--shard.index must be 0 for --shard.count 1, not 1"),
        (
            ["--shard.count", "3"],
            "laptop",
            "--shard.index is not given and the hostname 'laptop' does not end in a "
            "StatefulSet ordinal (-0, -1, ...): give --shard.index",
        ),
        (
            ["--shard.count", "2"],
            "balance-exporter-2",
            "--shard.index from the hostname 'balance-exporter-2' is 2, but must be from 0 "
            "to 1 for --shard.count 2",
        ),
    ],
)
def test_bad_shard_flags_exit_2_with_one_line(
    flags: list[str],
    hostname: str,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: hostname)
    with pytest.raises(SystemExit) as exited:
        parse_args(flags)
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"balance-exporter: error: {message}"


def test_shard_flags_default_to_one_shard_or_the_hostnames_ordinal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: "balance-exporter-1")
    assert parse_args([]).shard == Shard(1, 0)
    assert parse_args(["--shard.count", "3"]).shard == Shard(3, 1)
    assert parse_args(["--shard.count=3", "--shard.index=0"]).shard == Shard(3, 0)
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--shard.count N one of N exporters" in help_text
    assert "(default: 1)" in help_text
    assert "(default: with N > 1, the hostname's StatefulSet ordinal" in help_text


# --- the command line --------------------------------------------------------------------


def test_config_check_says_how_many_accounts_the_shard_owns(tmp_path: Path) -> None:
    config = tmp_path / "c.yml"
    write_config(config, ACCOUNTS, UNREACHABLE)
    shard = Shard(3, 1)

    result = run_exporter(
        "--config.check",
        "--config.file",
        str(config),
        "--shard.count=3",
        "--shard.index=1",
        cwd=tmp_path,
    )

    assert (result.returncode, result.stderr) == (0, "")
    first, *listed, _providers = result.stdout.splitlines()
    mine = owned(ACCOUNTS, shard)
    assert first == f"{config}: OK, 30 account(s), {len(mine)} in shard 1 of 3"
    assert {line.split(":")[0].strip() for line in listed} == mine
    assert CANARY not in result.stdout


@pytest.fixture
async def simulator() -> AsyncIterator[RunningSimulator]:
    sim = Simulator()
    for name in ACCOUNTS:
        sim.add(name, SimAccount("telnyx", key(name)))
    running = await start_simulator(sim)
    yield running
    await running.stop()


async def test_three_shards_poll_every_account_exactly_once(
    tmp_path: Path, simulator: RunningSimulator
) -> None:
    config = tmp_path / "c.yml"
    write_config(config, ACCOUNTS, simulator.url)

    runs = await asyncio.gather(
        *(
            run_exporter_async(
                "--once",
                "--config.file",
                str(config),
                "--shard.count",
                "3",
                "--shard.index",
                str(index),
                cwd=tmp_path,
                env=environment(),
            )
            for index in range(3)
        )
    )

    polled: list[set[str]] = []
    for code, out, err in runs:
        assert (code, err) == (0, "")
        assert CANARY not in out
        up = {
            sample.labels["account"]: sample.value
            for family in text_string_to_metric_families(out)
            for sample in family.samples
            if sample.name == "billing_up"
        }
        assert set(up.values()) == {1.0}
        assert accounts_in(out) == set(up)  # nothing at all of the other shards' accounts
        polled.append(set(up))
    assert set().union(*polled) == set(ACCOUNTS)
    assert sum(len(accounts) for accounts in polled) == len(ACCOUNTS)  # pairwise disjoint
    assert polled == [owned(ACCOUNTS, Shard(3, index)) for index in range(3)]
    assert all(polled)  # 30 accounts give each of the three shards some
    assert simulator.simulator.requests == Counter(dict.fromkeys(ACCOUNTS, 1))


# --- reloads -----------------------------------------------------------------------------


def exported(daemon: Daemon) -> set[str]:
    return accounts_in(render(daemon.store.snapshot, generate_latest).body.decode())


async def test_a_reload_keeps_only_the_shards_accounts(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    before, after = ACCOUNTS[:20], ACCOUNTS[10:]
    write_config(path, before, UNREACHABLE)
    shard = Shard(3, 0)
    load = shard.loader(lambda: load_config(path, environ={}))
    # The fake clock never moves, so nothing is polled: what is scheduled is what is exported.
    daemon = Daemon(load, load(), clock=FakeClock())
    await daemon.start()
    try:
        assert {a.name for a in daemon.config.accounts} == owned(before, shard)
        assert exported(daemon) == owned(before, shard)

        write_config(path, after, UNREACHABLE)
        assert await daemon.reload() == []

        assert {a.name for a in daemon.config.accounts} == owned(after, shard)
        assert exported(daemon) == owned(after, shard)
    finally:
        await daemon.stop()


def test_serving_reloads_through_the_shard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """cli.main hands serve() the shard's loader, which SIGHUP and POST /-/reload call."""
    path = tmp_path / "c.yml"
    write_config(path, ACCOUNTS[:20], UNREACHABLE)
    served: list[tuple[Config, Callable[[], Config] | None]] = []

    async def fake_serve(
        args: Namespace,
        config: Config,
        web_config: WebConfig | None = None,
        source: Callable[[], Config] | None = None,
        banner: Sequence[str] = (),
    ) -> int:
        served.append((config, source))
        return 0

    monkeypatch.setattr(cli, "serve", fake_serve)
    monkeypatch.setattr(cli, "setup_logging", lambda level, fmt: None)  # the test's own logging

    assert cli.main(["--config.file", str(path), "--shard.count=3", "--shard.index=2"]) == 0

    ((config, source),) = served
    assert source is not None
    shard = Shard(3, 2)
    assert {a.name for a in config.accounts} == owned(ACCOUNTS[:20], shard)
    write_config(path, ACCOUNTS[10:], UNREACHABLE)
    assert {a.name for a in source().accounts} == owned(ACCOUNTS[10:], shard)
