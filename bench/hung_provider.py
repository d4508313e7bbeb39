"""Scrape latency while providers hang, against the same exporter with every provider healthy.

The exporter polls simulated Telnyx accounts over real HTTP; in the second run half of them
never answer (each poll waits for its timeout). Scrapes must not notice.

Run: python -m bench.hung_provider [--accounts N] [--scrapes N]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time

import aiohttp

from balance_exporter.config.checker import parse_config
from balance_exporter.daemon import Daemon
from balance_exporter.demo import serve_app, start_simulator
from balance_exporter.simulator import SimAccount, Simulator
from bench.common import Column, print_table


async def measure(accounts: int, hanging: int, scrapes: int) -> list[float]:
    simulator = Simulator()
    for i in range(accounts):
        simulator.add(
            f"a{i}", SimAccount("telnyx", f"key-{i}", fault="hang" if i < hanging else None)
        )
    running = await start_simulator(simulator)
    lines = "\n".join(
        f"  - {{name: a{i}, provider: telnyx, api_key: key-{i}, base_url: '{running.url}'}}"
        for i in range(accounts)
    )
    config = parse_config(
        f"global: {{min_interval: 1s, max_concurrent_requests: 8}}\n"
        f"defaults: {{interval: 2s, timeout: 1s}}\naccounts:\n{lines}\n"
    )
    daemon = Daemon("bench.yml", config)
    served = await serve_app(daemon.app(), access_log=True)  # as the exporter serves it
    await daemon.start()
    samples = []
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(scrapes):
                started = time.perf_counter()
                async with session.get(f"{served.url}/metrics") as response:
                    await response.read()
                samples.append(time.perf_counter() - started)
                await asyncio.sleep(0.05)  # pacing between scrapes, not synchronisation
    finally:
        await daemon.stop()
        await served.stop()
        await running.stop()
    return samples


async def main(accounts: int, scrapes: int) -> None:
    rows = [
        ("all providers healthy (baseline)", await measure(accounts, 0, scrapes)),
        (
            f"{accounts // 2} of {accounts} providers hang",
            await measure(accounts, accounts // 2, scrapes),
        ),
    ]
    print_table(
        f"{accounts} accounts polled every 2s with a 1s timeout, {scrapes} scrapes per row",
        "scenario",
        36,
        rows,
        Column("max ms", 10, lambda timings: f"{timings.maximum * 1000:.2f}"),
    )


if __name__ == "__main__":
    logging.getLogger("balance_exporter").setLevel(
        logging.CRITICAL
    )  # the failed polls are expected
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--scrapes", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(main(args.accounts, args.scrapes))
