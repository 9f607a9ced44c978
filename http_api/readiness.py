"""The API's readiness, probed at most once a second: every caller in that second is
answered from the last probe, so asking often costs the database and the broker nothing.

No caller queues behind a probe: while one runs, callers are answered from the last
report (at most a probe's timeout older than a second). Only callers before the first
report wait, for the same probe, and at most ``MAX_WAITING`` of them: past that they
are told the API is not ready yet. So probes need no place in the in-flight limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

PROBE_EVERY_S = 1.0
MAX_WAITING = 64  # callers waiting for the first probe; the next are answered "not probed yet"
NOT_PROBED = {"probe": "down: the first probe has not answered yet"}


class Readiness:
    """The last probe's report, made again (in the background) once it is ``PROBE_EVERY_S`` old."""

    def __init__(self, probe: Callable[[], Awaitable[dict[str, str]]], clock=time.monotonic) -> None:
        self._probe = probe
        self._clock = clock
        self._running: asyncio.Task[dict[str, str]] | None = None
        self._report: dict[str, str] | None = None
        self._at = float("-inf")
        self._waiting = 0

    async def report(self) -> dict[str, str]:
        if self._running is None and self._clock() - self._at >= PROBE_EVERY_S:
            self._running = asyncio.create_task(self._probed())
        if self._report is not None:
            return self._report
        if self._waiting >= MAX_WAITING or self._running is None:
            return NOT_PROBED
        self._waiting += 1
        try:
            return await asyncio.shield(self._running)
        finally:
            self._waiting -= 1

    async def _probed(self) -> dict[str, str]:
        try:
            self._report = await self._probe()
            self._at = self._clock()
            return self._report
        finally:
            self._running = None
