"""Command line: parse flags, load the config, then check it, poll once, or serve."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import platform
import signal
import sys
from collections.abc import Callable, Sequence

from aiohttp import web
from prometheus_client.exposition import generate_latest

from exporter import __version__
from exporter.config import Config, ConfigError, describe, load_config
from exporter.daemon import Daemon
from exporter.demo import demo_config, start_simulator
from exporter.listener import Listener
from exporter.logs import LEVELS, setup_logging
from exporter.renderer import render
from exporter.webconfig import WebConfig, describe_web, load_web_config

log = logging.getLogger("exporter.cli")

DEFAULT_CONFIG = "balance-exporter.yml"
DEFAULT_LISTEN = ":9877"
SHUTDOWN_GRACE = 3.0  # seconds given to open connections; the whole stop stays within 5 s

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="balance-exporter",
        description="Prometheus exporter for the prepaid balances and credit of API providers.",
    )
    parser.add_argument("--config.file", dest="config_file", default=DEFAULT_CONFIG, metavar="PATH")
    parser.add_argument(
        "--config.check",
        dest="config_check",
        action="store_true",
        help="validate the config (secrets included) and exit 0 or 2",
    )
    parser.add_argument(
        "--web.listen-address", dest="listen", default=DEFAULT_LISTEN, metavar="HOST:PORT"
    )
    parser.add_argument(
        "--web.config.file",
        dest="web_config_file",
        default=None,
        metavar="PATH",
        help="exporter-toolkit web configuration: TLS, basic auth, response headers",
    )
    parser.add_argument(
        "--web.telemetry-path", dest="telemetry_path", default="/metrics", metavar="PATH"
    )
    parser.add_argument("--log.level", dest="log_level", default="info", choices=list(LEVELS))
    parser.add_argument(
        "--log.format", dest="log_format", default="logfmt", choices=["logfmt", "json"]
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
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    args = parser.parse_args(argv)
    if not args.telemetry_path.startswith("/"):
        parser.error("--web.telemetry-path must start with /")
    try:
        args.host, args.port = parse_listen_address(args.listen)
    except ValueError as exc:
        parser.error(f"--web.listen-address: {exc}")
    return args


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
        print(f"balance-exporter {__version__} (Python {platform.python_version()})")
        return EXIT_OK
    setup_logging(args.log_level, args.log_format)
    try:
        web_config = load_web_config(args.web_config_file) if args.web_config_file else None
        config = None if args.demo else load_config(args.config_file)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_CONFIG
    try:
        if config is None:
            return asyncio.run(run_demo(args, web_config))
        for warning in config.warnings:
            log.warning(warning)
        if args.config_check:
            print(f"{args.config_file}: OK, {len(config.accounts)} account(s)")
            for line in describe(config):
                print(f"  {line}")
            if web_config is not None:
                print(f"{args.web_config_file}: OK, {describe_web(web_config)}")
            return EXIT_OK
        if args.once:
            return asyncio.run(run_once(config))
        return asyncio.run(serve(args, config, web_config))
    except KeyboardInterrupt:
        return EXIT_OK


async def run_demo(args: argparse.Namespace, web_config: WebConfig | None) -> int:
    simulator = await start_simulator()
    try:
        config = demo_config(simulator.url)
        if args.once:
            return await run_once(config)
        scheme = "https" if web_config is not None and web_config.tls else "http"
        base = f"{scheme}://{args.host or 'localhost'}:{args.port}"
        banner = [
            f"balance-exporter demo: {len(config.accounts)} simulated accounts",
            f"  metrics:             {base}{args.telemetry_path}",
            f"  landing page:        {base}/",
            f"  simulated providers: {simulator.url}/-/sim/accounts",
        ]
        return await serve(args, config, web_config, lambda: demo_config(simulator.url), banner)
    finally:
        await simulator.stop()


async def run_once(config: Config) -> int:
    daemon = Daemon(lambda: config, config)  # polls once: never reloads
    try:
        ok = await daemon.scheduler.poll_all_once(config.accounts)
    finally:
        await daemon.stop()
    daemon.store.set_reload(True, daemon.clock.time())
    sys.stdout.write(render(daemon.store.snapshot, generate_latest).body.decode())
    return EXIT_OK if ok else EXIT_FAILED


async def serve(
    args: argparse.Namespace,
    config: Config,
    web_config: WebConfig | None = None,
    source: Callable[[], Config] | None = None,
    banner: Sequence[str] = (),
) -> int:
    daemon = Daemon(
        source or args.config_file,
        config,
        web_config_path=args.web_config_file,
        web_config=web_config,
    )
    runner = web.AppRunner(
        daemon.app(args.telemetry_path), shutdown_timeout=SHUTDOWN_GRACE, handle_signals=False
    )
    await runner.setup()
    listener = Listener(runner, args.host, args.port)
    try:
        await listener.start(daemon.web.config.ssl_context())
    except OSError as exc:
        log.error(
            "cannot listen", extra={"address": args.listen, "error": exc.strerror or str(exc)}
        )
        await runner.cleanup()
        await daemon.stop()
        return EXIT_FAILED
    log.info(
        "listening",
        extra={
            "address": args.listen,
            "metrics": args.telemetry_path,
            "accounts": len(config.accounts),
            "tls": listener.context is not None,
            "basic_auth": daemon.web.auth is not None,
            "version": __version__,
        },
    )
    daemon.listener = listener
    if banner:  # printed once the address is really ours
        print("\n".join(banner), flush=True)

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    reloads: set[asyncio.Task[list[str]]] = set()

    def reload_on_signal() -> None:
        task = loop.create_task(daemon.reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, reload_on_signal)
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop_signal, stopping.set)

    await daemon.start()
    await stopping.wait()
    log.info("shutting down")
    for task in reloads:
        task.cancel()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(4.5):
            await daemon.stop()
            await runner.cleanup()
    return EXIT_OK
