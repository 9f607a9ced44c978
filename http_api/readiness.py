"""The API's readiness, probed at most once a second: every caller in that second is
answered from the last probe, so asking often costs the database and the broker nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

PROBE_EVERY_S = 1.0


class Readiness:
    """The last probe's report, made again once it is ``PROBE_EVERY_S`` old."""

    def __init__(self, probe: Callable[[], Awaitable[dict[str, str]]], clock=time.monotonic) -> None:
        self._probe = probe
        self._clock = clock
        self._lock = asyncio.Lock()
        self._report: dict[str, str] | None = None
        self._at = float("-inf")

    async def report(self) -> dict[str, str]:
        async with self._lock:  # callers in the same second wait for one probe, then share it
            if self._report is None or self._clock() - self._at >= PROBE_EVERY_S:
                self._report = await self._probe()
                self._at = self._clock()
            return self._report
