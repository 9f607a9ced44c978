"""The outcome watcher: told by the feed, it reads only what was decided."""

from __future__ import annotations

import asyncio

from http_api.outcomes import OutcomeWatcher
from shared.domain import handle
from shared.storage import order_to_doc, record_doc, record_id
from tests.api.fakes import FakeFeed, FakeStore
from tests.unit.builders import ORDER_ID, pay, refund_some


class CountingStore(FakeStore):
    def __init__(self) -> None:
        super().__init__()
        self.asked: list[list[str]] = []

    async def records(self, record_ids: list[str]):
        self.asked.append(list(record_ids))
        return await super().records(record_ids)


def decide(store: FakeStore, request_id: str) -> None:
    """What the flow does: store the order, then the record (then publish, which the feed tells)."""
    order, _ = handle(None, pay())
    command = refund_some(request_id, "apple", 1)
    order, (event,) = handle(order, command)
    store.docs[order.id] = order_to_doc(order)
    store.records_by_id[record_id(order.id, request_id)] = record_doc(command, event, order)


async def watching(store: FakeStore) -> tuple[OutcomeWatcher, FakeFeed]:
    watcher, feed = OutcomeWatcher(store), FakeFeed()
    await feed.start(watcher.wanted(), watcher.decided)
    return watcher, feed


async def test_a_waiter_is_answered_when_the_feed_tells_its_request():
    store = CountingStore()
    watcher, feed = await watching(store)

    async def publish() -> None:
        decide(store, "r1")
        feed.tell("r1")

    decided = await watcher.wait(ORDER_ID, "r1", 5, publish())
    assert decided is not None
    assert decided.record["requestId"] == "r1"


async def test_the_store_is_asked_only_about_requests_the_feed_told():
    store = CountingStore()
    watcher, feed = await watching(store)
    others = [asyncio.create_task(watcher.wait(ORDER_ID, f"other-{i}", 0.3)) for i in range(100)]
    await asyncio.sleep(0)
    decide(store, "r1")
    feed.tell("r1")
    assert await watcher.wait(ORDER_ID, "r1", 5) is not None
    assert store.asked[0] == [record_id(ORDER_ID, "r1")]
    await asyncio.gather(*others)


async def test_an_outcome_the_feed_missed_is_found_by_the_last_look():
    store = CountingStore()
    watcher, _ = await watching(store)
    decide(store, "r1")  # decided, and the feed said nothing
    decided = await watcher.wait(ORDER_ID, "r1", 0.05)
    assert decided is not None
    assert watcher.waiting == 0


async def test_nothing_decided_in_time_is_none():
    watcher, _ = await watching(CountingStore())
    assert await watcher.wait(ORDER_ID, "r1", 0.05) is None
