"""How fast this machine runs pure Python, timed in the same run as the benchmarks,
so that a figure read on one machine can be set against one read on another.

The loop does what the service's pure core does most: small dicts, string keys,
integer arithmetic, a method call; no I/O. Best of three, in thousands of loops a
second (about 2x apart between machines of the kind this was built on)."""

from __future__ import annotations

import time
from typing import Any

LOOPS = 200_000


def _loop(n: int) -> int:
    total = 0
    state: dict[str, int] = {}
    for i in range(n):
        key = f"order-{i % 97}"
        line: dict[str, Any] = {"productId": key, "quantity": i % 7, "price": 100 + i % 13}
        state[key] = state.get(key, 0) + line["quantity"] * line["price"]
        total += len(key) + (state[key] % 11)
    return total


def machine_speed() -> float:
    """Thousands of calibration loops per second, best of three."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        _loop(LOOPS)
        best = min(best, time.perf_counter() - started)
    return LOOPS / best / 1000
