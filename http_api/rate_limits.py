"""Rate limits as buckets of credits (the token bucket algorithm, called credits here so
as not to be confused with JWTs): per user for mutations, per client address for
requests without a valid token.

A bucket holds up to ``burst`` credits and gains ``per_second`` a second; a request
takes one, or is refused with the seconds until one is there. The clock is passed
in, so the arithmetic is tested without sleeping.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from http_api.problems import Problem
from shared.rates import Rate

MAX_TRACKED = 100_000  # buckets kept before the full (idle) ones are dropped


class CreditBuckets:
    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic, max_tracked: int = MAX_TRACKED):
        self.rate = rate
        self._clock = clock
        self._max_tracked = max_tracked
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (credits, when counted)

    def take(self, key: str) -> float:
        """0 when ``key`` may go ahead (a credit is taken), else the seconds until it may."""
        now = self._clock()
        credits = self._credits(key, now)
        allowed = credits >= 1
        self._buckets[key] = (credits - 1 if allowed else credits, now)
        self._trim(now)
        return 0.0 if allowed else (1 - credits) / self.rate.per_second

    def _credits(self, key: str, now: float) -> float:
        known = self._buckets.get(key)
        if known is None:
            return float(self.rate.burst)
        credits, then = known
        return min(float(self.rate.burst), credits + (now - then) * self.rate.per_second)

    def _trim(self, now: float) -> None:
        # Amortised: a sweep only past the bound, which is then at least twice what
        # survived it; a full bucket is the same as none, so full ones go.
        if len(self._buckets) <= self._max_tracked:
            return
        self._buckets = {k: v for k, v in self._buckets.items() if self._credits(k, now) < self.rate.burst}
        self._max_tracked = max(self._max_tracked, 2 * len(self._buckets))


def retry_after(seconds: float) -> str:
    """A Retry-After value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


def too_many_requests(detail: str, wait_s: float, reason: str) -> Problem:
    """The 429 of every limit: a problem document saying when to try again."""
    return Problem(429, detail, response_headers={"Retry-After": retry_after(wait_s)}, reason=reason)
