"""A sparkline of an account's last figures: a few bytes of inline SVG, no script."""

from __future__ import annotations

from collections.abc import Sequence

WIDTH, HEIGHT = 96, 20
PAD = 2  # keeps the stroke inside the box


def sparkline(figures: Sequence[float], label: str) -> str:
    """The figures as a polyline, oldest on the left; "" for fewer than two. ``label`` (the
    text a screen reader says) must be escaped already."""
    if len(figures) < 2:
        return ""
    low, high = min(figures), max(figures)
    span = high - low
    step = (WIDTH - 2 * PAD) / (len(figures) - 1)

    def y(value: float) -> float:
        if span == 0:  # a flat account: a line across the middle
            return HEIGHT / 2
        return PAD + (high - value) / span * (HEIGHT - 2 * PAD)

    points = " ".join(f"{PAD + i * step:.1f},{y(v):.1f}" for i, v in enumerate(figures))
    return (
        f'<svg class="spark" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{label}"><polyline points="{points}"/></svg>'
    )
