"""The outcome watcher: told by the feed, it reads only what was decided."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from http_api.outcomes import OutcomeWatcher
from http_api.views import order_view
from shared.domain import handle
from shared.domain.events import Reason
from shared.domain.model import Order
from shared.schemas.event_codec import event_payload
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


def decide(store: FakeStore, request_id: str, product: str = "apple") -> tuple[Order, dict]:
    """What the flow does: store the order, then the record (then publish, which the feed
    tells). The order as it was before, and the event's payload."""
    before, _ = handle(None, pay())
    assert before is not None
    command = refund_some(request_id, product, 1)
    order, (event,) = handle(before, command)
    store.docs[order.id] = order_to_doc(order)
    store.records_by_id[record_id(order.id, request_id)] = record_doc(command, event, order)
    return before, event_payload(event, order)


async def watching(store: FakeStore) -> tuple[OutcomeWatcher, FakeFeed]:
    watcher, feed = OutcomeWatcher(store), FakeFeed()
    await feed.start(watcher.wanted(), watcher.decided)
    return watcher, feed


async def test_a_waiter_is_answered_when_the_feed_tells_its_request():
    store = CountingStore()
    watcher, feed = await watching(store)

    async def publish() -> None:
        feed.tell(decide(store, "r1")[1])

    decided = await watcher.wait(ORDER_ID, "r1", 5, publish())
    assert decided is not None
    assert decided.reason is None, "a refund of one apple of three is applied"
    assert decided.order.version == 2


async def test_the_store_is_asked_only_about_requests_the_feed_told():
    store = CountingStore()
    watcher, feed = await watching(store)
    others = [asyncio.create_task(watcher.wait(ORDER_ID, f"other-{i}", 0.3)) for i in range(100)]
    await asyncio.sleep(0)
    feed.tell(decide(store, "r1")[1])
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


async def test_a_change_to_the_version_the_request_read_is_answered_from_the_event_alone():
    store = CountingStore()
    watcher, feed = await watching(store)
    seen, event = decide(store, "r1")

    async def publish() -> None:
        feed.tell(event)

    decided = await watcher.wait(ORDER_ID, "r1", 5, publish(), seen)
    assert decided is not None and decided.order is not None
    assert store.asked == [], "the event told the outcome: nothing is read"
    assert order_view(decided.order) == order_view(await store.get(ORDER_ID))


async def test_a_change_after_another_change_is_read_from_the_database():
    store = CountingStore()
    watcher, feed = await watching(store)
    seen, event = decide(store, "r1")
    older = seen._replace(version=seen.version - 1)  # read before a change that came between

    async def publish() -> None:
        feed.tell(event)

    decided = await watcher.wait(ORDER_ID, "r1", 5, publish(), older)
    assert decided is not None and decided.order is not None
    assert store.asked == [[record_id(ORDER_ID, "r1")]]
    assert decided.order == await store.get(ORDER_ID)


async def test_a_rejection_is_answered_from_the_event_alone():
    store = CountingStore()
    watcher, feed = await watching(store)
    _, event = decide(store, "r1", product="kiwi")

    async def publish() -> None:
        feed.tell(event)

    decided = await watcher.wait(ORDER_ID, "r1", 5, publish())
    assert decided is not None
    assert (decided.reason, store.asked) == (Reason.PRODUCT_NOT_FOUND, [])


async def test_an_event_this_service_did_not_write_is_read_from_the_database():
    store = CountingStore()
    watcher, feed = await watching(store)
    seen, _ = decide(store, "r1")

    async def publish() -> None:
        feed.tell({"requestId": "r1", "type": "OrderRefunded", "version": "two"})

    decided = await watcher.wait(ORDER_ID, "r1", 5, publish(), seen)
    assert decided is not None
    assert store.asked == [[record_id(ORDER_ID, "r1")]]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
EVENT_FIELDS = ["eventId", "type", "orderId", "version", "occurredAt", "amount", "products", "productId",
                "quantity", "changes", "reason", "detail", "recorded"]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.dictionaries(st.sampled_from(EVENT_FIELDS), json_values | st.sampled_from(["OrderRefunded", "RequestRejected"]))
)
async def test_whatever_an_event_holds_its_waiter_is_answered_by_a_read_or_by_the_event(fields):
    store = CountingStore()
    watcher, feed = await watching(store)
    seen, _ = decide(store, "r1")

    raised: list[dict] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, context: raised.append(context))

    async def publish() -> None:
        feed.tell({**fields, "requestId": "r1"})

    decided = await watcher.wait(ORDER_ID, "r1", 5, publish(), seen)
    assert raised == [], "reading the event raised on the loop"
    assert decided is not None, "the stored outcome answers an event the watcher cannot read"
