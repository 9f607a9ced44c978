"""Waiting for the outcome of a request by watching its order in Mongo.

The dataflow stores each request's outcome in the order it concerns, so an
outcome seen there is also visible to every later read: a caller that gets 200
reads its own write. One task polls for all waiters of this process with one
query per tick, so many waiters cost no more than one; several API processes
each watch their own waiters. A waiter never outlives its timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from http_api.ports import OrderStore

log = logging.getLogger(__name__)


def outcome_in(doc: dict[str, Any] | None, request_id: str) -> dict[str, Any] | None:
    """The stored outcome of a request: {type, outcome} or None while pending."""
    for record in (doc or {}).get("requests", []):
        if record["requestId"] == request_id:
            return record
    return None


# Seconds between polls while someone waits: half of it is the mean wait an outcome adds.
POLL_INTERVAL = 0.01


class OutcomeWatcher:
    def __init__(self, store: OrderStore, interval: float = POLL_INTERVAL):
        self._store = store
        self._interval = interval
        self._waiters: dict[tuple[str, str], list[asyncio.Future[dict[str, Any]]]] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        return sum(len(w) for w in self._waiters.values())

    async def wait(self, order_id: str, request_id: str, timeout: float) -> dict[str, Any] | None:
        """The order holding the outcome, or None when it did not come in time."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        key = (order_id, request_id)
        self._waiters.setdefault(key, []).append(future)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._watch())
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return None
        finally:
            waiters = self._waiters.get(key, [])
            if future in waiters:
                waiters.remove(future)
            if not waiters:
                self._waiters.pop(key, None)

    async def _watch(self) -> None:
        while self._waiters:
            try:
                await self._poll()
            except Exception as exc:  # a slow or restarting server: keep waiting, waiters time out
                log.warning("outcome poll failed: %s", exc)
            await asyncio.sleep(self._interval)

    async def _poll(self) -> None:
        """One light query for which requests are decided, one more for those orders."""
        decided = await self._store.request_ids(sorted({order for order, _ in self._waiters}))
        ready = [key for key in self._waiters if key[1] in decided.get(key[0], ())]
        if not ready:
            return
        docs = await self._store.get_many(sorted({order for order, _ in ready}))
        for key in ready:
            for future in self._waiters.get(key, []):
                if not future.done() and key[0] in docs:
                    future.set_result(docs[key[0]])

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
