"""The one table every benchmark reports into: figure, what it is compared with, ratio, target, met?"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Figure:
    """One measured figure and its ratio to what it is compared with (both measured in the same run).

    ``target`` is a bound on ``ratio``: ``("<=", 1.5)`` or ``(">=", 0.9)``; None when the row only
    informs (a time split, a count)."""

    name: str
    value: str
    compared: str = ""
    ratio: float | None = None
    target: tuple[str, float] | None = None

    @property
    def met(self) -> bool | None:
        if self.target is None or self.ratio is None:
            return None
        op, bound = self.target
        return self.ratio <= bound if op == "<=" else self.ratio >= bound


def median_time(fn: Callable[[], Any], repeat: int) -> tuple[float, list[float]]:
    """Median seconds of ``repeat`` calls of ``fn`` (and each call's seconds)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def render(figures: Sequence[Figure]) -> str:
    """The figures as a plain-text table (also valid Markdown)."""
    header = ("figure", "value", "compared with", "ratio", "target", "met?")
    rows = [
        (
            f.name,
            f.value,
            f.compared,
            "" if f.ratio is None else f"{f.ratio:.2f}",
            "" if f.target is None else f"{f.target[0]} {f.target[1]:g}",
            {True: "yes", False: "NO", None: ""}[f.met],
        )
        for f in figures
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])
