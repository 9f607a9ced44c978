"""Reads of single orders that arrive together go to the database as one query.

Requests for orders by id are gathered while earlier queries are in flight
(group commit, for reads): when fewer than ``max_in_flight`` queries are out,
everything gathered goes in one ``$in`` query. Every query is sent after each
of its requests arrived, so a read still sees every write that completed before
it was asked for (a 200 from a mutation, then a read, shows the change).

One query in flight measured best in B3 (figures: docs/benchmarks.md, "Speed
choices in the code"): the database does one query's work for a whole batch."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from shared.domain.model import Order

FetchMany = Callable[[list[str]], Awaitable[dict[str, Order]]]


class ReadBatches:
    def __init__(self, fetch_many: FetchMany, max_in_flight: int = 1):
        self._fetch_many = fetch_many
        self._max_in_flight = max_in_flight
        self._in_flight = 0
        self._gathered: dict[str, list[asyncio.Future[Order | None]]] = {}
        self._send_scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def get(self, order_id: str) -> Order | None:
        future: asyncio.Future[Order | None] = asyncio.get_running_loop().create_future()
        self._gathered.setdefault(order_id, []).append(future)
        self._schedule_send()
        return await future

    def _schedule_send(self) -> None:
        # Sent on the loop's next turn, so requests that arrive in this one share the query.
        if not self._send_scheduled and self._in_flight < self._max_in_flight:
            self._send_scheduled = True
            asyncio.get_running_loop().call_soon(self._send)

    def _send(self) -> None:
        self._send_scheduled = False
        if not self._gathered or self._in_flight >= self._max_in_flight:
            return
        batch, self._gathered = self._gathered, {}
        self._in_flight += 1
        task = asyncio.get_running_loop().create_task(self._answer(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, batch: dict[str, list[asyncio.Future[Order | None]]]) -> None:
        try:
            found = await self._fetch_many(list(batch))
        except asyncio.CancelledError:
            _each(batch, lambda future: future.cancel())
            raise
        except Exception as exc:
            error = exc  # each waiting request gets the error
            _each(batch, lambda future: future.set_exception(error))
        else:
            for order_id, futures in batch.items():
                for future in futures:
                    if not future.done():
                        future.set_result(found.get(order_id))
        finally:
            self._in_flight -= 1
            if self._gathered:
                self._schedule_send()


def _each(batch: dict[str, list[asyncio.Future[Order | None]]], settle: Callable[[asyncio.Future], object]) -> None:
    for futures in batch.values():
        for future in futures:
            if not future.done():
                settle(future)
