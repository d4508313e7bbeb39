"""A sparkline of an account's last figures: a few bytes of inline SVG, no script."""

from __future__ import annotations

from collections.abc import Sequence

WIDTH, HEIGHT = 96, 20
SCALE = 10  # whole numbers in a viewBox ten times the size: short, and precise enough
PAD = 2 * SCALE  # keeps the stroke inside the box


def sparkline(figures: Sequence[float], label: str) -> str:
    """The figures as a polyline, oldest on the left; "" for fewer than two. ``label`` (the
    text a screen reader says) must be escaped already."""
    if len(figures) < 2:
        return ""
    width, height = WIDTH * SCALE, HEIGHT * SCALE
    low, high = min(figures), max(figures)
    step = (width - 2 * PAD) / (len(figures) - 1)
    rise = (height - 2 * PAD) / (high - low) if high > low else 0.0
    ys: list[int]
    if high == low:  # a flat account: a line across the middle
        ys = [height // 2] * len(figures)
    else:
        ys = [PAD + round((high - value) * rise) for value in figures]
    points = " ".join(f"{PAD + round(i * step)},{y}" for i, y in enumerate(ys))
    return (
        f'<svg width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{label}"><polyline points="{points}"/></svg>'
    )
