"""A clock that tests move by hand, and waiting on conditions with a real-time deadline.

``FakeClock`` implements ``polling.clock.Clock``. Its time stands still until a test calls
``advance``, which walks through the pending ``sleep`` deadlines in order: it moves time to
the earliest one, wakes its sleepers, lets every task that became runnable run until the event
loop is idle, and repeats, so a task woken by one deadline can register (and be woken for) a
later one inside the same ``advance``.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections.abc import Awaitable, Callable

# The wall-clock reading when the fake monotonic clock reads 0.
EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z
REAL_DEADLINE = 5.0  # seconds of real time a test waits for a condition before failing
_IDLE_ROUNDS = 3  # consecutive idle event-loop turns that count as "nothing left to run"
_MAX_ROUNDS = 100_000  # a task spinning without ever blocking is a bug: stop settling then


class FakeClock:
    def __init__(self, start: float = 0.0, epoch: float = EPOCH) -> None:
        self._now = start
        self._epoch = epoch
        self._sequence = itertools.count()
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._registered = asyncio.Event()

    # The Clock protocol.

    def time(self) -> float:
        return self._epoch + self._now

    def monotonic(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)  # still a point where other tasks run, like asyncio.sleep
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._sequence), future))
        self._registered.set()
        try:
            await future
        finally:
            if not future.done():  # the sleeper was cancelled: forget its deadline
                future.cancel()
            self._sleepers = [entry for entry in self._sleepers if entry[2] is not future]
            heapq.heapify(self._sleepers)

    # Test helpers.

    @property
    def sleeping(self) -> int:
        """How many tasks are blocked in ``sleep`` right now."""
        return sum(1 for _, _, future in self._sleepers if not future.done())

    def deadlines(self) -> list[float]:
        """The monotonic times the current sleepers wake at, earliest first."""
        return sorted(deadline for deadline, _, future in self._sleepers if not future.done())

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, waking every sleeper due on the way, in order."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        await self.advance_to(self._now + seconds)

    async def advance_to(self, target: float) -> None:
        await settle()
        while True:
            due = [entry for entry in self._sleepers if not entry[2].done()]
            earliest = min(due, default=None)
            if earliest is None or earliest[0] > target:
                break
            self._now = max(self._now, earliest[0])
            for deadline, _, future in sorted(due):
                if deadline <= self._now and not future.done():
                    future.set_result(None)
            await settle()
        self._now = max(self._now, target)
        await settle()

    async def wait_for_sleepers(self, count: int, deadline: float = REAL_DEADLINE) -> None:
        """Wait (real time, at most ``deadline`` seconds) until ``count`` tasks or more sleep."""
        try:
            async with asyncio.timeout(deadline):
                while self.sleeping < count:
                    self._registered.clear()
                    await self._registered.wait()
        except TimeoutError:
            raise AssertionError(
                f"expected {count} sleeping task(s) within {deadline}s, found {self.sleeping}"
            ) from None
        await settle()


def seeded(seed: int) -> random.Random:
    """A reproducible source of jitter for the code under test."""
    return random.Random(seed)  # noqa: S311 - scheduling jitter, not cryptography


async def settle() -> None:
    """Let every runnable task run until the event loop has nothing left to do right now."""
    loop = asyncio.get_running_loop()
    # CPython's event loop keeps its runnable callbacks in ``_ready``; without it, spin a while.
    ready = getattr(loop, "_ready", None)
    idle = 0
    for _ in range(_MAX_ROUNDS):
        await asyncio.sleep(0)
        if ready is None:
            idle += 1
            if idle >= 50:
                return
        elif len(ready) == 0:
            idle += 1
            if idle >= _IDLE_ROUNDS:
                return
        else:
            idle = 0
    raise AssertionError("the event loop never became idle: a task spins without blocking")


async def wait_until(
    predicate: Callable[[], bool | Awaitable[bool]],
    deadline: float = REAL_DEADLINE,
    what: str = "condition",
) -> None:
    """Wait until ``predicate()`` is true, failing after ``deadline`` seconds of real time."""
    try:
        async with asyncio.timeout(deadline):
            while True:
                result = predicate()
                if not isinstance(result, bool):
                    result = await result
                if result:
                    return
                await asyncio.sleep(0.001)
    except TimeoutError:
        raise AssertionError(f"{what} not reached within {deadline}s") from None
