"""Command line: parse flags, load the config, then check it, poll once, or serve."""

from __future__ import annotations

import argparse
import asyncio
import logging
import platform
import socket
import sys
from collections.abc import Sequence
from functools import partial
from typing import Any

from balance_exporter import __version__
from balance_exporter.config.checker import Config, ConfigError, describe, load_config
from balance_exporter.config.sharding import Shard
from balance_exporter.config.webconfig import WebConfig, describe_web, load_web_config
from balance_exporter.config.yamlfile import guarded
from balance_exporter.daemon import EXIT_CONFIG, EXIT_OK, run_once, serve
from balance_exporter.demo import demo_config, start_simulator
from balance_exporter.logs import LEVELS, setup_logging
from balance_exporter.providers.registry import (
    PROVIDERS,
    PluginError,
    describe_providers,
    install_plugins,
)
from balance_exporter.runtime import tune_runtime
from balance_exporter.web.connections import IDLE_TIMEOUT, MAX_CONNECTIONS, RESERVED_FILES
from balance_exporter.web.listener import Address

log = logging.getLogger("balance_exporter.cli")

DEFAULT_CONFIG = "balance-exporter.yml"
DEFAULT_LISTEN = ":9877"


class HelpFormatter(argparse.HelpFormatter):
    """Each flag's help ends with its default, where it has one worth saying: not a flag that
    is off unless given, nor one whose default its help describes."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if "(default: " in text or default in (None, False, argparse.SUPPRESS):
            return text
        if isinstance(default, list):
            default = ", ".join(default)
        elif isinstance(default, float):
            default = f"{default:g}"
        shown = str(default).replace("%", "%%")  # argparse %-formats the help next
        return f"{text} (default: {shown})"


class AppendAddress(argparse.Action):
    """Every address given, in order; the default only when none is."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        given = getattr(namespace, self.dest, None)
        addresses = [] if given is None or given is self.default else list(given)
        setattr(namespace, self.dest, [*addresses, values])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="balance-exporter",
        description="Prometheus exporter for the prepaid balances and credit of API providers.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--config.file",
        dest="config_file",
        default=DEFAULT_CONFIG,
        metavar="PATH",
        help="the configuration file: accounts, intervals, thresholds",
    )
    parser.add_argument(
        "--config.check",
        dest="config_check",
        action="store_true",
        help="validate the config (secrets included), print its accounts, and exit 0 or 2",
    )
    parser.add_argument(
        "--web.listen-address",
        dest="listen",
        action=AppendAddress,
        default=[DEFAULT_LISTEN],
        metavar="HOST:PORT",
        help="where to serve; give it again to serve on more addresses, each with the same "
        f"limits ('{DEFAULT_LISTEN}' is every interface, '[::1]:9877' works)",
    )
    parser.add_argument(
        "--web.config.file",
        dest="web_config_file",
        default=None,
        metavar="PATH",
        help="exporter-toolkit web configuration: TLS, basic auth, response headers "
        "(default: none, plain HTTP without a password)",
    )
    parser.add_argument(
        "--web.telemetry-path",
        dest="telemetry_path",
        default="/metrics",
        metavar="PATH",
        help="the path of the metrics",
    )
    parser.add_argument(
        "--web.enable-lifecycle",
        dest="enable_lifecycle",
        action="store_true",
        help="allow POST /-/reload (SIGHUP reloads either way) (default: off)",
    )
    parser.add_argument(
        "--web.max-connections",
        dest="max_connections",
        type=positive_int,
        default=MAX_CONNECTIONS,
        metavar="N",
        help="clients served at once, over every address; more are turned away, and the "
        f"process's file limit keeps {RESERVED_FILES} for the polls",
    )
    parser.add_argument(
        "--web.idle-timeout",
        dest="idle_timeout",
        type=positive_float,
        default=IDLE_TIMEOUT,
        metavar="SECONDS",
        help="how long a client may take to send a request's header, and may keep an idle "
        "connection open",
    )
    parser.add_argument(
        "--log.level",
        dest="log_level",
        default="info",
        choices=list(LEVELS),
        help="the least severe level logged",
    )
    parser.add_argument(
        "--log.format",
        dest="log_format",
        default="logfmt",
        choices=["logfmt", "json"],
        help="one line per event on stderr, as logfmt or JSON",
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="poll every account once, print the metrics, exit 1 if any poll failed",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="simulate every provider on loopback and serve a demo config (no file, no secret)",
    )
    parser.add_argument(
        "--shard.count",
        dest="shard_count",
        type=int,
        default=1,
        metavar="N",
        help="one of N exporters, each polling its share of the accounts",
    )
    parser.add_argument(
        "--shard.index",
        dest="shard_index",
        type=int,
        default=None,
        metavar="I",
        help="this exporter's share, 0 to N-1 (default: with N > 1, the hostname's "
        "StatefulSet ordinal, 2 for balance-exporter-2)",
    )
    parser.add_argument(
        "--version",
        action="store_true",
        help="print the version, the Python and the platform, and exit",
    )
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.shard = Shard.from_flags(args.shard_count, args.shard_index, socket.gethostname)
    except ValueError as exc:
        parser.error(str(exc))
    if not args.telemetry_path.startswith("/"):
        parser.error("--web.telemetry-path must start with /")
    args.addresses = []
    for text in args.listen:
        try:
            address = Address(text, *parse_listen_address(text))
        except ValueError as exc:
            parser.error(f"--web.listen-address: {exc}")
        if any((a.host, a.port) == (address.host, address.port) for a in args.addresses):
            parser.error(f"--web.listen-address: {text!r} is given twice")
        args.addresses.append(address)
    return args


def version_text() -> str:
    """As the Prometheus exporters print it: the version, then what it runs on."""
    system = f"{platform.system().lower()}/{platform.machine()}"
    return (
        f"balance-exporter, version {__version__}\n"
        f"  python: {platform.python_version()}\n"
        f"  platform: {system}"
    )


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def parse_listen_address(text: str) -> tuple[str | None, int]:
    """``:9877``, ``0.0.0.0:9877``, ``[::1]:9877``; an empty host listens on every interface."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT")
    host = host.removeprefix("[").removesuffix("]")
    return (host or None), int(port)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.version:
        print(version_text())
        return EXIT_OK
    setup_logging(args.log_level, args.log_format)
    tune_runtime()
    try:
        install_plugins()
    except PluginError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG

    def load_whole() -> Config:  # every account is checked, whichever shard polls it
        return guarded(args.config_file, lambda: load_config(args.config_file))

    try:
        web_config = None
        if args.web_config_file:
            web_config = guarded(
                args.web_config_file, lambda: load_web_config(args.web_config_file)
            )
        whole = None if args.demo else load_whole()
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_CONFIG
    try:
        if whole is None:
            return asyncio.run(run_demo(args, web_config))
        for warning in whole.warnings:
            log.warning(warning)
        config = args.shard.restrict(whole)
        if args.config_check:
            owned = f", {len(config.accounts)} in {args.shard}" if args.shard.count > 1 else ""
            print(f"{args.config_file}: OK, {len(whole.accounts)} account(s){owned}")
            for line in describe(config):
                print(f"  {line}")
            print(f"providers: {describe_providers(PROVIDERS)}")
            if web_config is not None:
                print(f"{args.web_config_file}: OK, {describe_web(web_config)}")
            return EXIT_OK
        if args.once:
            return asyncio.run(run_once(config))
        # Reloads go through the shard too, so they never bring back another shard's accounts.
        return asyncio.run(serve(args, config, web_config, args.shard.loader(load_whole)))
    except KeyboardInterrupt:
        return EXIT_OK


async def run_demo(args: argparse.Namespace, web_config: WebConfig | None) -> int:
    simulator = await start_simulator()
    try:
        source = args.shard.loader(partial(demo_config, simulator.url))
        config = source()
        if args.once:
            return await run_once(config)
        scheme = "https" if web_config is not None and web_config.tls else "http"
        first = args.addresses[0]
        base = f"{scheme}://{first.url_host}:{first.port}"
        banner = [
            f"balance-exporter demo: {len(config.accounts)} simulated accounts",
            f"  metrics:             {base}{args.telemetry_path}",
            f"  landing page:        {base}/",
            f"  simulated providers: {simulator.url}/-/sim/accounts",
        ]
        return await serve(args, config, web_config, source, banner)
    finally:
        await simulator.stop()
