"""Waiting for the outcome of a request, told by the outcome feed.

The feed (``http_api.outcome_feed``) hands over the events that decided this
process's waited-for requests. Most answer from the event alone: a rejection
says why, and a change to the very version of the order the request read is
the core's ``apply`` of the event to that order, which is what the flow stored.
The rest (another change came between) read their orders by id (with the
records of each order's latest write; older records by id), a batch at a time.
Nothing is polled: the database cost is per answered request, however many wait.
The flow stores the order, then the record, then publishes the event, so a
caller that gets 200 reads its own write. A waiter whose outcome the feed did
not tell in time gets one last look at its record before it is told to wait no
longer (None).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Container
from typing import NamedTuple, Protocol

from http_api.ports import OrderStore
from http_api.wire import JsonObject
from shared.domain import apply
from shared.domain.events import Event, OrderUpdated, RequestRejected
from shared.domain.model import Order
from shared.schemas.event_codec import parse_event
from shared.storage import RecordView, record_id

log = logging.getLogger(__name__)


class Decided(NamedTuple):
    """A request's outcome as its client is told it: applied, with the order at the
    request's revision or later, or rejected, with why."""

    order: Order | None  # None only for a rejection
    reason: str | None = None  # None: applied
    detail: str = ""

    @classmethod
    def of(cls, record: RecordView | None, order: Order | None) -> Decided | None:
        """The outcome a reader may be shown: the record, once its order is stored too."""
        if record is None or order is None or order.revision < record.revision:
            return None
        return cls(order, record.reason, record.detail) if record.rejected else cls(order)

    @classmethod
    def from_event(cls, payload: JsonObject, order_id: str, seen: Order | None) -> Decided | None:
        """The outcome the deciding event tells without a read, given ``seen``, the order
        as the request read it: None when only a read can tell it (a change came between,
        or the event is not one this service wrote: then it may raise)."""
        event = parse_event(payload)
        if event.order_id != order_id:
            return None
        if isinstance(event, RequestRejected):
            return cls(None, event.reason, event.detail)
        # The order's content changes only with its version, and a change moves it on by
        # one: at the version before the event's, the flow held what the request read (its
        # revision aside, unshown). An update that changed nothing keeps the version it
        # found, which may be later than the one read.
        if seen is None or event.version != seen.version + 1 or _changes_nothing(event):
            return None
        # Its revision may be behind the flow's (rejections between move that on, unseen):
        # shown, never cached (``RenderedOrders`` keeps only orders read from the store).
        return cls(apply(seen, event))


def _changes_nothing(event: Event) -> bool:
    return isinstance(event, OrderUpdated) and not event.changes


async def stored_outcome(store: OrderStore, order_id: str, request_id: str) -> Decided | None:
    """The request's outcome, when it is decided and its order stored: its record is
    read in the order's latest write (``pending``) as well as by id, so the gap between
    the flow's order write and its record write (a crash may hold it open until the
    flow's restart) never looks undecided, or worse, decided otherwise."""
    key = record_id(order_id, request_id)
    orders, records = await store.orders_and_records({key: order_id})
    return Decided.of(records.get(key), orders.get(order_id))


class OutcomeFeed(Protocol):
    async def start(self, wanted: Container[str], decided: Callable[[list[JsonObject]], None]) -> None:
        """From now on, call ``decided`` (on this loop) with the events (``order-events``
        payloads) that decided requests in ``wanted``."""
        ...

    def running(self) -> bool:
        """False while it is down: the API is then not ready."""
        ...

    async def close(self) -> None: ...


MIN_PUBLISH_S = 1.0


class NotPublished(Exception):
    """The broker did not take a request within its deadline (it may still later)."""


async def _published(publish: Awaitable[None], within: float) -> None:
    try:
        await asyncio.wait_for(publish, within)
    except TimeoutError:
        raise NotPublished(f"the broker did not take the request within {within:g} s") from None


class _Waiting(NamedTuple):
    """A request's waiters: its order's id, the order as the first of them read it, and their futures."""

    order_id: str
    seen: Order | None
    futures: list[asyncio.Future[Decided]]


class OutcomeWatcher:
    def __init__(self, store: OrderStore):
        self._store = store
        self._waiters: dict[str, _Waiting] = {}  # by request id
        self._told: set[str] = set()
        self._flush: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        return sum(len(waiting.futures) for waiting in self._waiters.values())

    def wanted(self) -> Container[str]:
        """The request ids someone waits for (read by the feed's thread: a dict's
        membership test is safe there, and a stale answer costs only a late reply)."""
        return self._waiters.keys()

    async def wait(
        self,
        order_id: str,
        request_id: str,
        timeout: float,
        publish: Awaitable[None] | None = None,
        seen: Order | None = None,
    ) -> Decided | None:
        """Publish (so the waiter is in place before any outcome can come), then the
        outcome, or None when it did not come within ``timeout`` of the call. ``seen``:
        the order as the request read it before it was published.

        Publishing is bounded too, by ``timeout`` but at least ``MIN_PUBLISH_S`` (a
        timeout of 0 asks for no wait on the outcome, not for no publishing): a broker
        that does not take the request in time is ``NotPublished``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        future: asyncio.Future[Decided] = loop.create_future()
        self._waiters.setdefault(request_id, _Waiting(order_id, seen, [])).futures.append(future)
        try:
            if publish is not None:
                await _published(publish, max(timeout, MIN_PUBLISH_S))
            return await asyncio.wait_for(asyncio.shield(future), max(0.0, deadline - loop.time()))
        except TimeoutError:
            return await self._last_look(request_id)
        finally:
            self._forget(request_id, future)

    async def _last_look(self, request_id: str) -> Decided | None:
        """A missed event costs a late 200, not a 202; a database that does not answer, a 202."""
        try:
            found = await self._look([request_id])
        except Exception as exc:
            log.warning("the last look for %s failed: %s", request_id, exc)
            return None
        return found.get(request_id)

    def decided(self, events: list[JsonObject]) -> None:
        """The feed's news, on the loop: answer these events' waiters, from the event
        where it tells the outcome, else from the database, a batch at a time."""
        for event in events:
            request_id = event["requestId"]
            waiting = self._waiters.get(request_id)
            if waiting is None:
                continue
            try:
                outcome = Decided.from_event(event, waiting.order_id, waiting.seen)
            except Exception as exc:  # not an event this service wrote: the database tells
                log.warning("the event deciding %s is not one this service writes: %r", request_id, exc)
                outcome = None
            if outcome is None:
                self._told.add(request_id)
            else:
                self._resolve(request_id, outcome)
        if self._told and (self._flush is None or self._flush.done()):
            self._flush = asyncio.create_task(self._answer())

    def _resolve(self, request_id: str, outcome: Decided) -> None:
        waiting = self._waiters.get(request_id)
        for future in waiting.futures if waiting is not None else ():
            if not future.done():
                future.set_result(outcome)

    async def _answer(self) -> None:
        while self._told:
            told, self._told = self._told, set()
            try:
                found = await self._look([rid for rid in told if rid in self._waiters])
            except Exception as exc:  # a slow or restarting server: the waiters' last look tries again
                log.warning("reading outcomes failed: %s", exc)
                continue
            for rid, outcome in found.items():
                self._resolve(rid, outcome)

    async def _look(self, request_ids: list[str]) -> dict[str, Decided]:
        """The stored outcomes among ``request_ids`` (one or two reads by id, whatever their number)."""
        order_of = {rid: self._waiters[rid].order_id for rid in request_ids if rid in self._waiters}
        keyed = {record_id(order_id, rid): rid for rid, order_id in order_of.items()}
        if not keyed:
            return {}
        orders, records = await self._store.orders_and_records({key: order_of[rid] for key, rid in keyed.items()})
        found = {}
        for key, record in records.items():
            decided = Decided.of(record, orders.get(record.order_id))
            if decided is not None:
                found[keyed[key]] = decided
        return found

    def _forget(self, request_id: str, future: asyncio.Future[Decided]) -> None:
        entry = self._waiters.get(request_id)
        if entry is None:
            return
        if future in entry.futures:
            entry.futures.remove(future)
        if not entry.futures:
            del self._waiters[request_id]

    async def close(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flush
