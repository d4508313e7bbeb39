"""Upstream respect, counted at the simulator: what the providers see of the exporter.

Healthy, each account gets one request per interval (N over N intervals, give or take one)
however often /metrics is scraped, and scrapes add no request at all. Through a one-hour
outage a failing account gets no more requests than a healthy one over the same hour. The
simulator's rate limit is set tight, so that a request that came too early would show.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

from test_fault_matrix import (
    INTERVAL,
    PROVIDERS,
    Spec,
    Stack,
    running_stack,
    series,
    simulated,
)

from balance_exporter.polling.errors import Reason
from balance_exporter.simulator import RateLimit

# Two requests to one account less than 50 s apart are refused with the provider's own 429.
# A healthy exporter polls every 60 s, moved by at most 5% of that either way: 54 s at least.
TIGHT = RateLimit(requests=1, window=50.0)
N = 30  # intervals


def healthy_specs() -> list[Spec]:
    return [
        Spec(
            f"{provider}-healthy",
            simulated(f"{provider}-healthy", provider, Decimal("75.50")),
            case_id=provider,
        )
        for provider in PROVIDERS
    ]


async def scrape_burst(stack: Stack, count: int) -> bool:
    """Scrape ``count`` times (/metrics and the other pages); True when no request went out."""
    before = stack.simulator.requests.total()
    for index in range(count):
        path = ("/metrics", "/metrics", "/", "/-/ready")[index % 4]
        async with stack.client.get(f"{stack.url}{path}") as response:
            assert response.status == 200, f"GET {path}: HTTP {response.status}"
            await response.read()
    return stack.simulator.requests.total() == before


async def healthy_run(every: float | None, burst: int) -> tuple[dict[str, list[float]], int]:
    """N intervals of healthy polling, scraping ``burst`` times every ``every`` fake seconds.

    Returns the fake time of every request per account, and how many scrapes were made.
    """
    end = N * INTERVAL
    scrapes = 0
    async with running_stack(healthy_specs(), rate_limit=TIGHT) as (stack, _):
        if every is None:
            await stack.run_to(end)
        else:
            moment = 0.0
            while moment < end:
                moment = min(end, moment + every)
                await stack.run_to(moment)
                assert await scrape_burst(stack, burst), f"a scrape at {moment}s sent a request"
                scrapes += burst
        await stack.quiet()
        for name in stack.simulator.accounts:
            state = stack.daemon.store.state(name)
            # Every request was answered with a balance: the rate limit was never hit.
            assert state.failures == (0,) * len(Reason), name
            assert state.polls == stack.simulator.requests[name], name
            assert state.up is True, name
        return {name: list(times) for name, times in stack.times.items()}, scrapes


async def test_healthy_accounts_get_one_request_per_interval_whatever_the_scrape_rate() -> None:
    unscraped, none = await healthy_run(None, 0)
    every_second, per_second = await healthy_run(1.0, 1)
    in_bursts, bursts = await healthy_run(30.0, 12)
    assert (none, per_second, bursts) == (0, N * 60, N * 2 * 12)
    for name, times in unscraped.items():
        assert N - 1 <= len(times) <= N + 1, f"{name}: {len(times)} requests in {N} intervals"
        gaps = [later - earlier for earlier, later in pairwise(times)]
        assert min(gaps) >= INTERVAL * 0.9, f"{name}: two requests {min(gaps):.1f}s apart"
    # Scrapes change nothing upstream: the very same requests, at the very same moments.
    assert every_second == unscraped
    assert in_bursts == unscraped


def outage_specs() -> list[tuple[Spec, str | None, str]]:
    """(spec, fault, the Retry-After it asks for) per provider: a control, and the outages."""
    specs: list[tuple[Spec, str | None, str]] = []
    for provider in PROVIDERS:
        for fault, asked in ((None, "30"), ("500", "30"), ("429-bare", "30"), ("429-seconds", "1")):
            name = f"{provider}-{fault or 'control'}"
            spec = Spec(name, simulated(name, provider, Decimal("42.00")), case_id=provider)
            specs.append((spec, fault, asked))
    return specs


async def test_an_outage_hour_costs_the_provider_no_more_than_a_healthy_hour() -> None:
    plan = outage_specs()
    start, hour = 2 * INTERVAL, 3600.0
    async with running_stack([spec for spec, _, _ in plan], rate_limit=TIGHT) as (stack, _):
        await stack.run_to(start)
        await stack.quiet()
        for spec, fault, asked in plan:
            stack.simulator.accounts[spec.name].fault = fault
            stack.simulator.accounts[spec.name].retry_after = asked
        await stack.run_to(start + hour)
        await stack.quiet()
        during = await stack.scrape()

        def within(name: str) -> list[float]:
            return [t for t in stack.times[name] if start < t <= start + hour]

        for spec, fault, _ in plan:
            if fault is None:
                continue
            provider = spec.case_id
            healthy = len(within(f"{provider}-control"))
            failing = within(spec.name)
            assert N * 2 - 1 <= healthy <= N * 2 + 1, f"{provider}-control: {healthy} in an hour"
            assert 1 <= len(failing) <= healthy, f"{spec.name}: {len(failing)} vs {healthy}"
            # No retry ever comes sooner than the next healthy poll would have.
            gaps = [later - earlier for earlier, later in pairwise(failing)]
            assert all(gap >= INTERVAL for gap in gaps), f"{spec.name}: gaps {gaps}"
            # Every one of them met the outage, none the rate limit (HTTP 500 is no 429).
            reason = Reason.SERVER_ERROR if fault == "500" else Reason.RATE_LIMITED
            counted = {
                r: during[series("billing_poll_failures_total", reason=r.value, **spec.labels)]
                for r in Reason
            }
            assert counted == {r: float(len(failing)) if r == reason else 0.0 for r in Reason}
            assert during[series("billing_up", **spec.labels)] == 0
