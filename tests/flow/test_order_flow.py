"""The dataflow end to end in-process: TestingSource in, TestingSink out."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bytewax.connectors.kafka import KafkaError, KafkaSourceMessage
from bytewax.testing import TestingSource
from confluent_kafka import KafkaError as ConfluentKafkaError

from dataflows.order_state import HeldOrders, OrderLogic, attach_stored
from dataflows.payment_lookup import PaymentLookup
from dataflows.triage import Inbound
from shared.domain import RefundOrder
from shared.ids import order_id_for_payment
from tests.flowkit import TOPICS, StoreLoader, message, payment, refund, run_flow, update

PAY = TOPICS.payment_accepted.name
REFUND = TOPICS.refund_request.name
UPDATE = TOPICS.order_update_request.name
ORDER = order_id_for_payment("pay-1")
ADMIN = {"userId": "boss", "roles": ["admin"]}


def test_a_payment_becomes_an_order_with_stock_and_original_topic_events():
    run = run_flow([message(PAY, payment())])
    (doc,) = run.docs
    assert doc["_id"] == ORDER
    assert doc["version"] == 1
    assert doc["status"] == "Pending"
    assert doc["cardNumber"] == "************4242"
    (created,) = run.events
    assert created["type"] == "OrderCreated"
    assert created["totalPrice"] == 23.75
    assert sorted((q["productId"], q["delta"]) for q in run.on(TOPICS.quantity_update.name)) == [
        ("apple", -3),
        ("pear", -2),
    ]
    assert run.original("orderService-basketClear") == [
        {"basketId": "basket-pay-1", "userId": "user-1", "setUsage": True}
    ]
    assert run.original("orderService-orderCreated-checkoutActive") == [
        {"checkout": {"_id": "checkout-pay-1", "isActive": False}}
    ]
    assert "4242424242424242" not in repr(run.messages) + repr(run.docs)


def test_a_duplicate_payment_makes_no_second_order_and_repeats_its_events_with_the_same_ids():
    run = run_flow([message(PAY, payment(), 0), message(PAY, payment(), 1)])
    assert [d["revision"] for d in run.docs] == [1]
    first, second = run.events
    assert first == second
    first_created, second_created = run.on("orderService-orderCreated")
    assert first_created == second_created
    assert len({q["eventId"] for q in run.on(TOPICS.quantity_update.name)}) == 2


def test_bad_messages_go_to_the_dead_letter_topic_and_good_ones_around_them_are_processed():
    run = run_flow(
        [
            message(PAY, payment("p1"), 0),
            message(PAY, b"\xff not utf8", 1, key=b"k1"),
            message(PAY, payment("p2", products=[]), 2),
            message(PAY, payment("p3", products=[{"productId": "x", "quantity": 0, "price": 1}]), 3),
            message(PAY, payment("p4"), 4),
        ]
    )
    assert sorted(d["paymentId"] for d in run.docs) == ["p1", "p4"]
    dead = run.dlq
    assert [d["offset"] for d in dead] == [1, 2, 3]
    assert dead[0]["valueEncoding"] == "base64"
    assert dead[0]["key"] == "k1"
    assert "UTF-8" in dead[0]["error"]
    assert all(d["topic"] == PAY and d["partition"] == 0 for d in dead)
    assert "products" in dead[1]["error"]
    assert "quantity" in dead[2]["error"]


def test_refunds_give_the_contract_outcomes():
    run = run_flow(
        [
            message(PAY, payment(), 0),
            message(REFUND, refund("partial", ORDER, "apple", 2), 1),
            message(REFUND, refund("over-cap", ORDER, "apple", 2), 2),
            message(REFUND, refund("unknown-product", ORDER, "kiwi", 1), 3),
            message(REFUND, refund("unknown-order", "0" * 24), 4),
            message(REFUND, refund("full-after-partial", ORDER), 5),
            message(REFUND, refund("rest", ORDER, "apple", 1), 6),
            message(REFUND, refund("rest-2", ORDER, "pear", 2), 7),
            message(REFUND, refund("again", ORDER, "pear", 1), 8),
        ]
    )
    assert run.outcome("partial")["type"] == "ProductRefunded"
    assert run.outcome("partial")["amount"] == 2.5
    assert run.outcome("over-cap")["reason"] == "quantity-exceeds-remaining"
    assert run.outcome("unknown-product")["reason"] == "product-not-found"
    assert run.outcome("unknown-order")["reason"] == "order-not-found"
    assert run.outcome("full-after-partial")["reason"] == "already-refunded"
    assert run.outcome("rest-2")["version"] == 4
    assert run.outcome("again")["reason"] == "already-refunded"
    final = max(run.docs, key=lambda d: d["revision"])
    assert final["refunded"] is True
    assert final["status"] == "Refunded"
    assert str(final["refundedAmount"]) == "23.75"
    restocked = [q for q in run.on(TOPICS.quantity_update.name) if q["delta"] > 0]
    assert sum(q["delta"] for q in restocked) == 5


def test_a_full_refund_emits_money_and_stock_events_once():
    run = run_flow([message(PAY, payment(), 0), message(REFUND, refund("r1", ORDER), 1)])
    outcome = run.outcome("r1")
    assert outcome["type"] == "OrderRefunded"
    assert outcome["amount"] == 23.75
    assert run.original("orderService-orderRefunded") == [{"refunded": True, "totalPrice": 23.75, "paymentId": "pay-1"}]
    assert run.original("orderService-productsRefundedIncreaseQuantity") == [
        {"products": [{"productId": "apple", "quantity": 3}, {"productId": "pear", "quantity": 2}]}
    ]


def test_a_product_refund_emits_the_original_topics_with_a_masked_card():
    run = run_flow([message(PAY, payment(), 0), message(REFUND, refund("r1", ORDER, "pear", 1), 1)])
    assert run.original("orderService-productFromOrderRefunded") == [
        {"productId": "pear", "price": 10, "cardNumber": "************4242", "paymentId": "pay-1"}
    ]
    assert run.original("orderService-productRefundedIncreaseQuantity") == [
        {"productId": "pear", "refundedQuantity": 1}
    ]


def test_a_replayed_request_yields_the_same_outcome_and_changes_nothing():
    run = run_flow(
        [
            message(PAY, payment(), 0),
            message(REFUND, refund("r1", ORDER, "apple", 1), 1),
            message(REFUND, refund("r1", ORDER, "apple", 1), 2),
        ]
    )
    assert [d["revision"] for d in run.docs] == [1, 2]
    outcomes = [e for e in run.events if e.get("requestId") == "r1"]
    assert len(outcomes) == 2
    assert outcomes[0] == outcomes[1]
    first, second = run.on("orderService-productFromOrderRefunded")
    assert first["eventId"] == second["eventId"]


def test_updates_take_owner_fields_and_admin_status_and_refuse_the_rest():
    owner = {"userId": "user-1", "roles": []}
    run = run_flow(
        [
            message(PAY, payment(), 0),
            message(UPDATE, update("addr", ORDER, {"address": "2 High St"}, requestedBy=owner), 1),
            message(UPDATE, update("status-by-owner", ORDER, {"status": "Shipped"}, requestedBy=owner), 2),
            message(UPDATE, update("stranger", ORDER, {"isGift": True}, requestedBy={"userId": "eve"}), 3),
            message(UPDATE, update("mass", ORDER, {"totalPrice": 0}, requestedBy=owner), 4),
            message(UPDATE, update("stale", ORDER, {"isGift": True}, expectedVersion=1, requestedBy=owner), 5),
            message(UPDATE, update("ship", ORDER, {"status": "Processing"}, requestedBy=ADMIN), 6),
        ]
    )
    assert run.outcome("addr")["type"] == "OrderUpdated"
    assert run.outcome("addr")["changes"] == {"address": "2 High St"}
    assert run.outcome("status-by-owner")["reason"] == "forbidden"
    assert run.outcome("stranger")["reason"] == "forbidden"
    assert run.outcome("mass")["reason"] == "invalid-request"
    assert "totalPrice" in run.dlq[0]["error"]
    assert run.outcome("stale")["reason"] == "version-conflict"
    final = max(run.docs, key=lambda d: d["revision"])
    assert final["status"] == "Processing"
    assert final["address"] == "2 High St"
    assert final["version"] == 3
    assert str(final["totalPrice"]) == "23.75"


def test_after_a_restart_the_order_is_loaded_from_the_store_and_replays_change_nothing():
    store = StoreLoader()
    inputs = [message(PAY, payment(), 0), message(REFUND, refund("r1", ORDER, "apple", 1), 1)]
    first = run_flow(inputs, store)
    second = run_flow([*inputs, message(REFUND, refund("r2", ORDER, "apple", 1), 2)], store)
    assert second.docs
    assert [d["revision"] for d in second.docs] == [3]
    assert second.outcome("r1") == first.outcome("r1")
    assert second.events[0] == first.events[0]  # OrderCreated repeated, same id and content
    assert second.on("orderService-orderCreated") == first.on("orderService-orderCreated")  # again, same id
    assert store.docs[ORDER]["products"][0]["refundedQuantity"] == 2


def test_a_payment_reference_goes_to_the_dead_letter_topic_without_a_payment_service():
    run = run_flow([message(PAY, {"paymentId": "p-ref"}, 0)])
    assert not run.docs
    assert "PAYMENT_SERVICE_URL" in run.dlq[0]["error"]


@contextmanager
def payment_service(payments: dict[str, dict]):
    """A real HTTP server on loopback answering GET /api/payment/find/:paymentId."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            payment_id = self.path.rsplit("/", 1)[-1]
            asked.append(payment_id)
            body = payments.get(payment_id)
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write(json.dumps(body or {"message": "not found"}).encode())

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", asked
    finally:
        server.shutdown()
        server.server_close()


def test_payment_references_are_completed_from_the_payment_service():
    stored = {k: v for k, v in payment("p-ref").items() if k != "paymentId"}
    with payment_service({"p-ref": stored}) as (url, asked):
        lookup = PaymentLookup(url, timeout=2, retries=2)
        run = run_flow(
            [message(PAY, {"paymentId": "p-ref"}, 0), message(PAY, {"paymentId": "p-gone"}, 1)], completer=lookup
        )
    assert [d["paymentId"] for d in run.docs] == ["p-ref"]
    assert sorted(asked) == ["p-gone", "p-ref"]
    assert run.dlq[0]["offset"] == 1
    assert "404" in run.dlq[0]["error"]


def test_the_original_topics_can_be_switched_off():
    topics = replace(TOPICS, compat=False)
    run = run_flow([message(PAY, payment())], topics=topics)
    assert {m.topic for m in run.messages} == {TOPICS.order_events.name, TOPICS.quantity_update.name}


def test_an_idle_order_is_evicted_and_loaded_again_from_the_store():
    # The store here never receives the order, so a reload shows up as order-not-found.
    items = [
        message(PAY, payment(), 0),
        TestingSource.PAUSE(timedelta(seconds=0.5)),
        message(REFUND, refund("r1", ORDER), 1),
    ]
    kept = run_flow(items, StoreLoader(), idle=timedelta(hours=1))
    evicted = run_flow(items, StoreLoader(), idle=timedelta(milliseconds=50))
    assert kept.outcome("r1")["type"] == "OrderRefunded"
    assert evicted.outcome("r1")["reason"] == "order-not-found"


def test_an_order_held_in_memory_is_not_loaded_again():
    items = [
        message(PAY, payment(), 0),
        TestingSource.PAUSE(timedelta(seconds=0.2)),
        message(REFUND, refund("r1", ORDER), 1),
    ]
    loader = StoreLoader()
    run = run_flow(items, loader)
    assert run.outcome("r1")["type"] == "OrderRefunded"
    assert loader.asked == [ORDER]


def test_an_order_evicted_between_the_load_and_keyed_steps_is_loaded_by_the_keyed_step():
    stored = run_flow([message(PAY, payment())])
    loader = StoreLoader()
    loader.keep(stored.docs)
    held = HeldOrders()
    held.add(ORDER)  # the load step saw it held; the keyed step has evicted it since
    (keyed,) = (
        k
        for _, k in attach_stored(
            loader, held, [Inbound(RefundOrder("r1", ORDER, None, datetime(2026, 1, 1, tzinfo=UTC)))]
        )
    )
    assert not keyed.looked_up
    assert loader.asked == []
    logic = OrderLogic(TOPICS, timedelta(hours=1), lambda: datetime(2026, 1, 1, tzinfo=UTC), loader, held)
    (effects,), _ = logic.on_item(keyed)
    assert loader.asked == [ORDER]
    assert effects.doc is not None
    assert effects.doc["status"] == "Refunded"


def test_consumer_errors_with_a_message_go_to_the_dead_letter_topic_and_others_are_only_logged():
    broken = message(PAY, b"partial", 5, key=b"k")
    transport = KafkaSourceMessage(key=None, value=None, topic=PAY)
    run = run_flow(
        [
            KafkaError(ConfluentKafkaError(ConfluentKafkaError._BAD_MSG), broken),
            KafkaError(ConfluentKafkaError(ConfluentKafkaError._TRANSPORT), transport),
            message(PAY, payment(), 6),
        ]
    )
    (dead,) = run.dlq
    assert dead["offset"] == 5
    assert dead["value"] == "partial"
    assert "kafka error" in dead["error"]
    assert len(run.docs) == 1


def test_a_consumer_error_at_an_offset_without_a_payload_is_a_dead_letter_not_a_skip():
    too_large = KafkaSourceMessage(key=None, value=None, topic=PAY, partition=0, offset=7)
    run = run_flow(
        [KafkaError(ConfluentKafkaError(ConfluentKafkaError.MSG_SIZE_TOO_LARGE), too_large), message(PAY, payment(), 8)]
    )
    (dead,) = run.dlq
    assert (dead["partition"], dead["offset"], dead["reason"]) == (0, 7, "kafka-error")
    assert dead["value"] is None
    assert len(run.docs) == 1


def test_every_decided_request_leaves_a_record_with_the_revision_it_left():
    run = run_flow(
        [
            message(PAY, payment(), 0),
            message(REFUND, refund("r1", ORDER, "apple", 1), 1),
            message(REFUND, refund("r2", ORDER, "kiwi", 1), 2),
        ]
    )
    assert [(r["_id"], r["seq"], r["status"]) for r in run.records] == [
        (f"{ORDER}/request/r1", 2, "applied"),
        (f"{ORDER}/request/r2", 3, "rejected"),
    ]


def test_a_request_older_than_any_in_memory_window_is_still_recognised_after_a_restart():
    store = StoreLoader()
    requests = [message(UPDATE, update(f"u{i}", ORDER, {"address": f"{i} Road"}), i + 1) for i in range(150)]
    first = run_flow([message(PAY, payment(), 0), *requests], store)
    again = run_flow([message(UPDATE, update("u0", ORDER, {"address": "0 Road"}), 151)], store)
    assert again.docs == []
    assert again.records == []
    assert again.outcome("u0") == first.outcome("u0")
    assert store.docs[ORDER]["address"] == "149 Road"


def test_after_a_crash_between_an_orders_write_and_its_records_nothing_is_decided_twice():
    """The order was stored with its latest requests applied, their records not: loading
    the order stores them, so a replay repeats those requests and a new one comes after."""
    store = StoreLoader()
    run_flow([message(PAY, payment(), 0)], store)
    refunds = [message(REFUND, refund("r1", ORDER, "apple", 1), 1), message(REFUND, refund("r2", ORDER, "pear", 1), 2)]
    decided = run_flow(refunds, StoreLoader(docs=dict(store.docs), records=dict(store.records)))
    cut = StoreLoader(docs=dict(store.docs), records=dict(store.records))
    cut.keep(decided.docs, decided.records, crash=True)
    assert f"{ORDER}/request/r1" not in cut.records
    replay = run_flow([*reversed(refunds), message(UPDATE, update("u1", ORDER, {"address": "2 High St"}), 3)], cut)
    assert [(d["revision"], d["products"][0]["refundedQuantity"]) for d in replay.docs] == [(4, 1)]
    assert {f"{ORDER}/request/r1", f"{ORDER}/request/r2"} <= set(cut.records)
    assert [r["seq"] for r in replay.records] == [4]
