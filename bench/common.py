"""What the benchmarks share: their summary of timings and the table they print it in."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Timings:
    """Median, 95th percentile (nearest rank) and maximum of some durations, in seconds."""

    median: float
    p95: float
    maximum: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Timings:
        ordered = sorted(samples)
        p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
        return cls(statistics.median(ordered), p95, ordered[-1])


@dataclass(frozen=True)
class Column:
    """The table's last column: its heading, its width and its text for a row's timings."""

    heading: str
    width: int
    cell: Callable[[Timings], str]


def print_table(
    title: str, label: str, width: int, rows: Sequence[tuple[str, Sequence[float]]], last: Column
) -> None:
    """The title, then a row per scenario: its label, median and p95 in ms, and ``last``."""
    print(title)
    print(f"{label:<{width}} {'median ms':>10} {'p95 ms':>10} {last.heading:>{last.width}}")
    for name, samples in rows:
        timings = Timings.of(samples)
        print(
            f"{name:<{width}} {timings.median * 1000:>10.2f} {timings.p95 * 1000:>10.2f}"
            f" {last.cell(timings):>{last.width}}"
        )


async def no_reload() -> list[str]:
    """The reload an app under benchmark gets: nothing to reload, no error."""
    return []
