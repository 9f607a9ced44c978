"""A replay from the very beginning of the input changes nothing, however long an order lived."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from bson.raw_bson import RawBSONDocument

from devkit.sandbox import Stack
from shared.ids import order_id_for_payment
from tests.flowkit import payment, refund, update

ADMIN = {"userId": "boss", "roles": ["admin"]}
REQUESTS = 150


def long_lived_order(stack: Stack) -> str:
    """One order with 150 requests: refunds of one unit, address changes, and rejections."""
    order_id = order_id_for_payment("long-1")
    products = [{"productId": "apple", "quantity": 100, "price": 1.25}]
    stack.produce(
        stack.topics.payment_accepted.name, [("long-1", payment("long-1", products=products, totalPrice=125))]
    )
    # Requests read before their order exists are rejected as order-not-found.
    stack.wait_for(lambda: stack.orders.find_one({"_id": order_id}) is not None, what="the order")
    refunds, updates = [], []
    for i in range(REQUESTS):
        if i % 3 == 0:
            refunds.append((order_id, refund(f"refund-{i}", order_id, "apple", 1)))
        elif i % 3 == 1:
            updates.append((order_id, update(f"update-{i}", order_id, {"address": f"{i} Long Road"})))
        else:
            refunds.append((order_id, refund(f"missing-{i}", order_id, "kiwi", 1)))  # rejected
    stack.produce(stack.topics.refund_request.name, refunds)
    stack.produce(stack.topics.order_update_request.name, updates)
    return order_id


def raw_documents(stack: Stack, order_id: str) -> dict[str, bytes]:
    raw = stack.mongo.get_default_database().with_options(
        codec_options=stack.orders.codec_options.with_options(document_class=RawBSONDocument)
    )
    docs = {"order": raw["orders"].find_one({"_id": order_id}).raw}
    for record in raw["order-requests"].find({"orderId": order_id}):
        docs[record["_id"]] = record.raw
    return docs


def by_event_id(messages: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for m in messages:
        grouped[m["eventId"]].append(m)
    return grouped


def test_a_full_replay_from_offset_0_leaves_every_document_byte_identical(stack: Stack):
    flow = stack.start_flow()
    order_id = long_lived_order(stack)
    # Orders are written before their records, so wait for both.
    stack.wait_for(
        lambda: (
            (stack.orders.find_one({"_id": order_id}) or {}).get("revision") == REQUESTS + 1
            and stack.records.count_documents({"orderId": order_id}) == REQUESTS
        ),
        timeout=120,
        what="every request decided and stored, with its record",
    )
    before = raw_documents(stack, order_id)
    assert len(before) == 1 + REQUESTS  # the order, and one record per request
    first = stack.consume(stack.topics.order_events.name, lambda ms: len(ms) >= REQUESTS + 1)
    stack.kill_flow(flow)

    stack.start_flow()  # no recovery store: every input topic is read again from offset 0
    events = stack.consume(stack.topics.order_events.name, lambda ms: len(ms) >= 2 * (REQUESTS + 1), timeout=120)

    assert raw_documents(stack, order_id) == before
    assert len(events) == 2 * (REQUESTS + 1)
    grouped = by_event_id(events)
    assert set(grouped) == {m["eventId"] for m in first}
    for event_id, copies in grouped.items():
        assert copies[0] == copies[1], f"event {event_id} was repeated with other content"
    refunded = [m for m in first if m["type"] == "ProductRefunded"]
    assert len(refunded) == REQUESTS // 3
    assert stack.orders.find_one({"_id": order_id})["refundedAmount"].to_decimal() == Decimal("1.25") * (REQUESTS // 3)
