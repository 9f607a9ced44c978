"""Waiting for the outcome of a request by watching for its record in Mongo.

The dataflow stores a record of each decided request (``shared.storage``) right
after the order it changed. A waiter is answered once its record is there and
the order has reached the record's revision (always so, checked all the same),
so a caller that gets 200 reads its own write. One task polls for all
waiters of this process with one query per tick (by record id: its cost does not
depend on how many requests an order has seen); several API processes each watch
their own waiters. A waiter never outlives its timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, NamedTuple

from http_api.ports import OrderStore
from shared.storage import record_id

log = logging.getLogger(__name__)

# Seconds between polls while someone waits: half of it is the mean wait an outcome adds.
POLL_INTERVAL = 0.01


class Decided(NamedTuple):
    """A request's record and its order, at the record's revision or later."""

    record: dict[str, Any]
    order: dict[str, Any]


class OutcomeWatcher:
    def __init__(self, store: OrderStore, interval: float = POLL_INTERVAL):
        self._store = store
        self._interval = interval
        self._waiters: dict[tuple[str, str], list[asyncio.Future[Decided]]] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        return sum(len(w) for w in self._waiters.values())

    async def wait(self, order_id: str, request_id: str, timeout: float) -> Decided | None:
        """The outcome, or None when it did not come in time."""
        future: asyncio.Future[Decided] = asyncio.get_running_loop().create_future()
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
        """One query for the waiters' records, one more for the orders of those found."""
        ids = {record_id(order, request): (order, request) for order, request in self._waiters}
        found = await self._store.records(sorted(ids))
        if not found:
            return
        orders = await self._store.get_many(sorted({ids[rid][0] for rid in found}))
        for rid, record in found.items():
            order = orders.get(record["orderId"])
            if order is None or order["revision"] < record["seq"]:
                continue  # the record is stored, its order not yet
            for future in self._waiters.get(ids[rid], []):
                if not future.done():
                    future.set_result(Decided(record, order))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
