"""The dataflow on real servers: a real broker (Apache Kafka or Tansu) and SecantusDB."""

from __future__ import annotations

import signal
import time
from collections import Counter
from functools import partial

from devkit.sandbox import Stack
from devkit.servers import free_port
from shared.ids import order_id_for_payment
from tests.flowkit import payment, refund, update


def payments(n: int, prefix: str = "pay") -> list[tuple[str, dict]]:
    return [(f"{prefix}-{i}", payment(f"{prefix}-{i}", user=f"user-{i % 7}")) for i in range(n)]


def _orders_at_least(stack: Stack, count: int) -> bool:
    return stack.orders.count_documents({}) >= count


def unique_by_id(messages: list[dict]) -> list[dict]:
    return list({m["eventId"]: m for m in messages}.values())


def test_payments_become_orders_once_however_often_they_arrive(stack: Stack):
    stack.start_flow()
    batch = payments(50)
    stack.produce(stack.topics.payment_accepted.name, batch + batch[:20])
    stack.wait_for(lambda: stack.orders.count_documents({}) == 50, what="50 orders")
    doc = stack.orders.find_one({"_id": order_id_for_payment("pay-3")})
    assert doc["paymentId"] == "pay-3"
    assert doc["cardNumber"] == "************4242"
    assert doc["version"] == 1
    created = stack.consume(
        stack.topics.order_events.name, lambda ms: len({m["eventId"] for m in ms}) >= 50 and len(ms) >= 70
    )
    assert Counter(m["type"] for m in unique_by_id(created)) == {"OrderCreated": 50}
    stock = unique_by_id(
        stack.consume(stack.topics.quantity_update.name, lambda ms: len({m["eventId"] for m in ms}) >= 100)
    )
    assert sum(m["delta"] for m in stock if m["productId"] == "apple") == -3 * 50
    assert sum(m["delta"] for m in stock if m["productId"] == "pear") == -2 * 50
    time.sleep(1)
    assert stack.orders.count_documents({}) == 50


def test_malformed_messages_reach_the_dead_letter_topic_and_good_ones_are_processed(stack: Stack):
    stack.start_flow()
    topic = stack.topics.payment_accepted.name
    stack.produce(
        topic,
        [
            ("good-1", payment("good-1")),
            ("bad-utf8", b"\xff\xfe\xfd"),
            ("bad-json", b"{"),
            ("bad-qty", payment("bad-qty", products=[{"productId": "a", "quantity": 0, "price": 1}])),
            ("bad-price", payment("bad-price", products=[{"productId": "a", "quantity": 1, "price": -5}])),
            ("no-products", payment("no-products", products=[])),
            ("good-2", payment("good-2")),
        ],
    )
    dead = stack.consume(stack.topics.order_dlq.name, lambda ms: len(ms) >= 5)
    assert sorted(d["key"] for d in dead) == ["bad-json", "bad-price", "bad-qty", "bad-utf8", "no-products"]
    assert all(d["topic"] == topic and d["error"] and d["offset"] is not None for d in dead)
    stack.wait_for(lambda: stack.orders.count_documents({}) == 2, what="the two good orders")
    assert {d["paymentId"] for d in stack.orders.find()} == {"good-1", "good-2"}


def test_refunds_and_updates_give_the_contract_outcomes(stack: Stack):
    stack.start_flow()
    a, b = order_id_for_payment("pay-a"), order_id_for_payment("pay-b")
    stack.produce(stack.topics.payment_accepted.name, [("pay-a", payment("pay-a")), ("pay-b", payment("pay-b"))])
    stack.wait_for(lambda: stack.orders.count_documents({}) == 2, what="two orders")
    requests = [
        refund("full", a),
        refund("repeat-full", a),
        refund("partial", b, "apple", 2),
        refund("over-cap", b, "apple", 2),
        refund("unknown-product", b, "kiwi", 1),
        refund("unknown-order", "f" * 24),
        refund("partial", b, "apple", 2),  # the same request again
    ]
    stack.produce(stack.topics.refund_request.name, [(r["orderId"], r) for r in requests])
    stack.produce(
        stack.topics.order_update_request.name,
        [(b, update("gift", b, {"isGift": True}, requestedBy={"userId": "user-1"}))],
    )
    events = stack.consume(stack.topics.order_events.name, lambda ms: len([m for m in ms if "requestId" in m]) >= 8)
    outcome = {m["requestId"]: m for m in events if "requestId" in m}
    assert outcome["full"]["type"] == "OrderRefunded"
    assert outcome["full"]["amount"] == 23.75
    assert outcome["repeat-full"]["reason"] == "already-refunded"
    assert outcome["partial"]["type"] == "ProductRefunded"
    assert outcome["partial"]["amount"] == 2.5
    assert outcome["over-cap"]["reason"] == "quantity-exceeds-remaining"
    assert outcome["unknown-product"]["reason"] == "product-not-found"
    assert outcome["unknown-order"]["reason"] == "order-not-found"
    assert outcome["gift"]["type"] == "OrderUpdated"
    partials = [m for m in events if m.get("requestId") == "partial"]
    assert len(partials) == 2
    assert partials[0] == partials[1]
    stack.wait_for(lambda: stack.orders.find_one({"_id": b})["version"] == 3, what="order b at version 3")
    doc_a, doc_b = stack.orders.find_one({"_id": a}), stack.orders.find_one({"_id": b})
    assert doc_a["refunded"] is True
    assert doc_a["status"] == "Refunded"
    assert str(doc_a["refundedAmount"]) == "23.75"
    assert doc_b["products"][0]["refundedQuantity"] == 2
    assert str(doc_b["refundedAmount"]) == "2.50"
    assert doc_b["isGift"] is True
    assert doc_b["status"] == "PartiallyRefunded"
    stock = unique_by_id(
        stack.consume(stack.topics.quantity_update.name, lambda ms: len({m["eventId"] for m in ms}) >= 6)
    )
    assert sum(m["delta"] for m in stock if m["orderId"] == a) == 0
    assert sum(m["delta"] for m in stock if m["orderId"] == b) == -5 + 2


def test_two_workers_process_every_order_once(stack: Stack):
    stack.start_flow(workers=2)
    stack.produce(stack.topics.payment_accepted.name, payments(200))
    stack.wait_for(lambda: stack.orders.count_documents({}) == 200, what="200 orders")
    ids = [order_id_for_payment(f"pay-{i}") for i in range(0, 200, 10)]
    stack.produce(stack.topics.refund_request.name, [(i, refund(f"r-{i}", i, "pear", 1)) for i in ids])
    stack.wait_for(
        lambda: stack.orders.count_documents({"status": "PartiallyRefunded"}) == len(ids), what="refunds applied"
    )
    pears = [line for order in stack.orders.find({"_id": {"$in": ids}}) for line in order["products"]]
    assert [line["refundedQuantity"] for line in pears if line["productId"] == "pear"] == [1] * len(ids)
    assert stack.records.count_documents({}) == len(ids)


def test_two_processes_share_the_work(stack: Stack):
    addresses = ";".join(f"127.0.0.1:{free_port()}" for _ in range(2))
    for process in range(2):
        stack.start_flow(cluster=(process, addresses))
    stack.produce(stack.topics.payment_accepted.name, payments(200) + payments(50))
    stack.wait_for(lambda: stack.orders.count_documents({}) == 200, what="200 orders")
    created = stack.consume(stack.topics.order_events.name, lambda ms: len(ms) >= 250)
    assert len({m["eventId"] for m in created}) == 200


def test_kill_9_mid_stream_then_restart_with_recovery_loses_and_doubles_nothing(stack: Stack, tmp_path):
    n = 1500
    recovery = tmp_path / "recovery"
    stack.produce(stack.topics.payment_accepted.name, payments(n))
    refunded: list[str] = []
    for round_ in range(3):
        flow = stack.start_flow(recovery=recovery)
        target = (round_ + 1) * n // 5
        stack.wait_for(partial(_orders_at_least, stack, target), what=f"{target} orders")
        stack.kill_flow(flow, signal.SIGKILL)
        if round_ == 0:
            # Refunds of orders that exist, in flight while the flow is killed again.
            refunded = sorted(d["_id"] for d in stack.orders.find({}, {"_id": 1}))[::3]
            stack.produce(stack.topics.refund_request.name, [(o, refund(f"r-{o}", o, "apple", 1)) for o in refunded])
    stack.start_flow(recovery=recovery)
    stack.wait_for(lambda: stack.orders.count_documents({}) == n, timeout=120, what="every order")
    stack.wait_for(
        lambda: stack.orders.count_documents({"status": "PartiallyRefunded"}) == len(refunded),
        timeout=120,
        what="every refund",
    )
    assert stack.orders.count_documents({"version": {"$gt": 2}}) == 0
    assert stack.orders.count_documents({"products.0.refundedQuantity": {"$gt": 1}}) == 0
    events = unique_by_id(
        stack.consume(stack.topics.order_events.name, lambda ms: len({m["eventId"] for m in ms}) >= n + len(refunded))
    )
    assert Counter(m["type"] for m in events) == {"OrderCreated": n, "ProductRefunded": len(refunded)}
    stock = unique_by_id(
        stack.consume(
            stack.topics.quantity_update.name, lambda ms: len({m["eventId"] for m in ms}) >= 2 * n + len(refunded)
        )
    )
    assert sum(m["delta"] for m in stock if m["productId"] == "apple") == -3 * n + len(refunded)
