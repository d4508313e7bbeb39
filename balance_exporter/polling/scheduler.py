"""Background polling: one task per account, a global cap on requests in flight.

Each account's task polls, records the outcome in the SnapshotStore and sleeps until its
next slot; a poll is never started while the previous one for that account runs, and one
account's trouble never holds up another's.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any

import aiohttp

from balance_exporter.config.account import AccountConfig
from balance_exporter.config.secret import redact
from balance_exporter.metrics.reading import Reading
from balance_exporter.metrics.snapshot import SnapshotStore
from balance_exporter.polling.backoff import Cadence, first_delay, phase
from balance_exporter.polling.clock import Clock
from balance_exporter.polling.errors import PollError, Reason
from balance_exporter.polling.poll import AccountRedaction, poll
from balance_exporter.providers.base import Provider, adapter
from balance_exporter.providers.registry import PROVIDERS

log = logging.getLogger("balance_exporter.scheduler")

PollFunction = Callable[[AccountConfig], Awaitable[Reading]]
# When the next poll is due (epoch seconds), from a poll's failure (None: it succeeded) and end.
Plan = Callable[[PollError | None, float], float]


class Scheduler:
    def __init__(
        self,
        store: SnapshotStore,
        clock: Clock,
        session: aiohttp.ClientSession | None = None,
        *,
        max_concurrent_requests: int = 8,
        rng: random.Random | None = None,
        poll_function: PollFunction | None = None,
        phase: Callable[[str, float], float] = phase,
    ) -> None:
        self.store = store
        self.clock = clock
        self.session = session
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.phase = phase  # where in its interval an account's polls fall
        self.max_concurrent_requests = max_concurrent_requests
        self.limit = asyncio.Semaphore(max_concurrent_requests)
        self._poll = poll_function or self._poll_provider
        self._tasks: dict[str, tuple[AccountConfig, asyncio.Task[None]]] = {}
        # Each account's adapter and redaction, made once per (re)loaded config of it.
        self._prepared: dict[str, tuple[AccountConfig, Provider[Any], AccountRedaction]] = {}

    async def apply(self, accounts: Iterable[AccountConfig], max_concurrent_requests: int) -> None:
        """Follow a (re)loaded config: unchanged accounts keep running, the rest restart or stop."""
        wanted = {account.name: account for account in accounts}
        if max_concurrent_requests != self.max_concurrent_requests:
            # Polls in flight finish under the old cap; every later one takes the new.
            self.max_concurrent_requests = max_concurrent_requests
            self.limit = asyncio.Semaphore(max_concurrent_requests)
        stale = [name for name, (account, _) in self._tasks.items() if wanted.get(name) != account]
        await self._cancel(stale)
        self.store.set_accounts(wanted.values())
        for name, account in wanted.items():
            if name not in self._tasks:
                task = asyncio.create_task(self._run(account), name=f"poll {name}")
                self._tasks[name] = (account, task)

    async def stop(self) -> None:
        await self._cancel(list(self._tasks))

    async def poll_all_once(self, accounts: Iterable[AccountConfig]) -> bool:
        """Poll every account once, now (for --once); True when all got a valid answer."""
        accounts = list(accounts)
        self.store.set_accounts(accounts)
        results = await asyncio.gather(*(self.poll_and_record(account) for account in accounts))
        return all(result is None for result in results)

    async def poll_and_record(
        self, account: AccountConfig, plan: Plan | None = None
    ) -> PollError | None:
        """One poll under the global cap; the outcome goes into the store, with the time of the
        next poll ``plan`` gives for it (one change of the account's state). Returns the
        failure."""
        async with self.limit:
            started = self.clock.monotonic()
            outcome: Reading | PollError
            try:
                outcome = await self._poll(account)
            except PollError as failure:
                outcome = failure
            except Exception as exc:  # a bug costs this poll, recorded as a failed attempt
                outcome = _internal_error(account, exc)
            duration = self.clock.monotonic() - started
            now = self.clock.time()
        due = (
            None if plan is None else plan(outcome if isinstance(outcome, PollError) else None, now)
        )
        if isinstance(outcome, PollError):
            self.store.update(account.name, lambda s: s.with_failure(outcome, now, duration, due))
            _log_failure(account, outcome)
            return outcome
        noted = self.store.note(account.name)
        self.store.update(account.name, lambda s: s.with_reading(outcome, now, duration, due))
        _log_reading(account, outcome, noted)
        return None

    async def _run(self, account: AccountConfig) -> None:
        delay = first_delay(account.interval, self.rng)
        due = self.clock.time() + delay
        self.store.update(account.name, lambda s: s.with_next_poll(due))
        await self.clock.sleep(delay)
        cadence = Cadence(account.interval, self.phase(account.name, account.interval), self.rng)
        while True:
            failures = cadence.failures
            plan = partial(cadence.plan, self.clock.time())
            try:
                failure = await self.poll_and_record(account, plan)
            except Exception as exc:  # a bug must cost one poll, never the account's loop
                failure = _internal_error(account, exc)
                plan(failure, self.clock.time())  # (again, if the bug came after planning)
            if failure is None and failures:
                log.info("poll recovered", extra=_fields(account, failures=failures))
            assert cadence.due is not None  # planned by now
            await self.clock.sleep(cadence.due - self.clock.time())

    async def _poll_provider(self, account: AccountConfig) -> Reading:
        if self.session is None:
            raise RuntimeError("Scheduler needs an HTTP session to poll providers")
        prepared = self._prepared.get(account.name)
        if prepared is None or prepared[0] is not account:
            provider = adapter(account, PROVIDERS)
            prepared = self._prepared[account.name] = (
                account,
                provider,
                AccountRedaction(provider),
            )
        _, provider, redaction = prepared
        return await poll(provider, self.session, self.clock.time(), redaction)

    async def _cancel(self, names: list[str]) -> None:
        tasks = [self._tasks.pop(name)[1] for name in names]
        for name in names:
            self._prepared.pop(name, None)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _fields(account: AccountConfig, **more: object) -> dict[str, object]:
    return {"account": account.name, "provider": account.provider, **more}


def _internal_error(account: AccountConfig, exc: Exception) -> PollError:
    """A bug met while polling: logged with the account's secrets blanked out of its text."""
    log.error(
        "internal error while polling",
        extra=_fields(
            account, error=redact(f"{type(exc).__name__}: {exc}", account.secrets.values())
        ),
    )
    return PollError(Reason.INVALID_RESPONSE, f"internal error ({type(exc).__name__})")


def _log_failure(account: AccountConfig, failure: PollError) -> None:
    log.warning(
        "poll failed",
        extra=_fields(
            account,
            reason=failure.reason.value,
            status=failure.status,
            code=failure.code,
            error=failure.message,
            retry_after=failure.retry_after,
        ),
    )


def _log_reading(account: AccountConfig, reading: Reading, noted: str | None) -> None:
    if reading.note and reading.note != noted:  # once, not at every poll
        log.info(reading.note, extra=_fields(account))
    if reading.degraded:
        log.info(
            "provider flags its answer as degraded; keeping the last trustworthy figures",
            extra=_fields(account, degraded_reason=reading.degraded_reason),
        )
    elif not reading.ready:
        log.info("account is in setup; no balance yet", extra=_fields(account))
    else:
        log.debug(
            "poll ok", extra=_fields(account, balance=reading.balance, currency=reading.currency)
        )
