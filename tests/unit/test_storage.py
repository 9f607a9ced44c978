"""The Mongo document of an order: contract field names, exact money, round trip."""

from __future__ import annotations

from decimal import Decimal

from bson import BSON
from bson.decimal128 import Decimal128

from shared.domain import Line, Status, handle
from shared.schemas.event_codec import event_payload
from shared.storage import cents, money, order_from_doc, order_to_doc, record_doc, recorded_from_doc
from tests.unit.builders import ADMIN, change, pay, refund_all, refund_some


def test_the_document_uses_the_contract_fields_and_decimal128_money():
    order, _ = handle(None, pay())
    order, _ = handle(order, refund_some("r1", "apple", 1))
    doc = order_to_doc(order)
    for name in ("_id", "userId", "checkoutId", "basketId", "paymentId", "products", "address", "isGift",
                 "status", "totalPrice", "refunded", "refundedAmount", "cardNumber", "version", "createdAt",
                 "updatedAt"):  # fmt: skip
        assert name in doc
    assert doc["totalPrice"] == Decimal128("23.75")
    assert doc["refundedAmount"] == Decimal128("1.25")
    assert doc["products"][0] == {
        "productId": "apple",
        "quantity": 3,
        "price": Decimal128("1.25"),
        "isRefunded": False,
        "refundedQuantity": 1,
        "sellerId": None,
    }
    assert doc["cardNumber"] == "************4242"
    assert doc["status"] == "PartiallyRefunded"


def test_an_order_survives_a_bson_round_trip_with_its_request_memory():
    order, _ = handle(None, pay())
    order, _ = handle(order, change("u1", by=ADMIN, status=Status.PROCESSING))
    order, _ = handle(order, change("u2", by=ADMIN, status=Status.CANCELLED))
    order, _ = handle(order, refund_some("r1", "apple", 1))  # rejected, remembered
    stored = BSON.encode(order_to_doc(order)).decode()
    assert order_from_doc(stored) == order
    assert stored["totalPrice"].to_decimal() == Decimal("23.75")


def test_a_record_survives_a_bson_round_trip():
    order, _ = handle(None, pay())
    command = change("u1", address="2 High St", is_gift=True)
    order, (event,) = handle(order, command)
    stored = BSON.encode(record_doc(command, event, order)).decode()
    assert recorded_from_doc(stored).outcome == event


def test_a_record_holds_its_event_as_the_order_events_payload():
    order, _ = handle(None, pay())
    command = refund_all("r1")
    order, (event,) = handle(order, command)
    assert record_doc(command, event, order)["event"] == event_payload(event, order)


def legacy_record(event_fields: dict) -> dict:
    """A record as stored before records held the order-events payload."""
    return {"seq": 2, "type": "OrderUpdated", "event": event_fields}


LEGACY_UPDATE = {"event_id": "e1", "order_id": "o1", "version": 2, "occurred_at": "2026-01-01T00:00:00Z",
                 "request_id": "u1", "changes": [["is_gift", True]], "amount": 0, "restocked": []}  # fmt: skip


def test_a_record_stored_in_the_older_form_still_reads():
    outcome = recorded_from_doc(legacy_record(LEGACY_UPDATE)).outcome
    assert (outcome.event_id, outcome.changes) == ("e1", (("is_gift", True),))


def test_an_older_record_with_the_wire_name_isgift_reads_as_the_order_field():
    doc = legacy_record({**LEGACY_UPDATE, "changes": [["isGift", True]]})
    assert recorded_from_doc(doc).outcome.changes == (("is_gift", True),)


def test_a_product_named_status_is_restocked_as_a_product():
    order, _ = handle(None, pay(lines=(Line("status", 2, 150),)))
    command = refund_all("r1")
    order, (event,) = handle(order, command)
    stored = BSON.encode(record_doc(command, event, order)).decode()
    assert recorded_from_doc(stored).outcome.restocked == (("status", 2),)


def test_stored_money_reads_back_as_the_cents_it_was_written_from():
    assert [cents(money(c)) for c in (0, 1, 99, 2375, 10**12)] == [0, 1, 99, 2375, 10**12]


def test_money_stored_with_more_decimals_rounds_half_to_even_not_down():
    assert [cents(Decimal128(v)) for v in ("0.005", "0.015", "19.999")] == [0, 2, 2000]
