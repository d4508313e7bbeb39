"""Basic-auth answer times on /metrics: an unknown user must take as long as a wrong password
(the baseline), so that the answer time does not tell which user names exist; a cached right
password must be far cheaper than a bcrypt check.

Run: python -m bench.auth_timing [--cost N] [--tries N]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable

import bcrypt
from aiohttp import encode_basic_auth, web
from aiohttp.test_utils import TestClient, TestServer

from balance_exporter.config.secret import Secret
from balance_exporter.config.webconfig import WebConfig
from balance_exporter.metrics.snapshot import SnapshotStore
from balance_exporter.web.server import WebState, build_app
from bench.common import Column, Timings, no_reload, print_table

PASSWORD = "bench-password"  # noqa: S105 - made up for the benchmark
WRONG_PASSWORD = "bench-wrong-password"  # noqa: S105


async def timed(
    client: TestClient[web.Request, web.Application],
    header: Callable[[int], str],
    expected: int,
    tries: int,
) -> list[float]:
    samples = []
    for index in range(tries):
        headers = {"Authorization": header(index)}
        started = time.perf_counter()
        async with client.get("/metrics", headers=headers) as response:
            await response.read()
        samples.append(time.perf_counter() - started)
        if response.status != expected:
            raise SystemExit(f"expected {expected}, got {response.status}")
    return samples


async def main(cost: int, tries: int) -> None:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=cost)).decode()
    # One user per try for "first time": the cache is keyed by user and password.
    users = {f"user-{index:03d}": Secret(hashed) for index in range(tries + 1)}
    state = WebState(WebConfig(users=users))
    app = build_app(SnapshotStore(), no_reload, web_state=state)
    async with TestClient(TestServer(app)) as client:
        await timed(client, lambda _: encode_basic_auth("user-000", PASSWORD), 200, 1)
        rows = [
            (
                "right password, cached",
                await timed(client, lambda _: encode_basic_auth("user-000", PASSWORD), 200, tries),
            ),
            (
                "right password, first time",
                await timed(
                    client,
                    lambda index: encode_basic_auth(f"user-{index + 1:03d}", PASSWORD),
                    200,
                    tries,
                ),
            ),
            (
                "wrong password",
                await timed(
                    client, lambda _: encode_basic_auth("user-000", WRONG_PASSWORD), 401, tries
                ),
            ),
            (
                "unknown user",
                await timed(client, lambda _: encode_basic_auth("nobody", PASSWORD), 401, tries),
            ),
        ]

    baseline = Timings.of(rows[2][1]).median
    print_table(
        f"bcrypt cost {cost}, {tries} tries per row, median and p95 of one GET /metrics",
        "credentials",
        30,
        rows,
        Column("vs wrong password", 18, lambda timings: f"{timings.median / baseline:.2f}x"),
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cost", type=int, default=10, help="bcrypt cost of the user's hash")
    parser.add_argument("--tries", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.cost, args.tries))
