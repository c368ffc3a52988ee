"""How fast this machine runs Python at the moment of measuring.

On a shared machine the same work can take nearly twice as long from one minute to the next, so
the benchmarks print this next to their figures: a fixed pure-Python loop, best of three.
"""

from __future__ import annotations

import time


def loop_ms(iterations: int = 1_000_000) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for number in range(iterations):
            total += number * number
        best = min(best, (time.perf_counter() - started) * 1000)
    return best


def speed_line(before: float, after: float) -> str:
    return (
        f"machine speed: a fixed Python loop took {before:.0f} ms when measuring began and "
        f"{after:.0f} ms when it ended (lower is faster)"
    )
