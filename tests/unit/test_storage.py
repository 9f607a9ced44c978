"""The Mongo document of an order: contract field names, exact money, round trip."""

from __future__ import annotations

from decimal import Decimal

from bson import BSON
from bson.decimal128 import Decimal128

from shared.domain import Line, Status, handle
from shared.storage import order_from_doc, order_to_doc, record_doc, recorded_from_doc
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


def test_a_record_stored_with_the_wire_name_isgift_reads_as_the_order_field():
    order, _ = handle(None, pay())
    command = change("u1", is_gift=True)
    order, (event,) = handle(order, command)
    doc = record_doc(command, event, order)
    doc["event"]["changes"] = [["isGift", True]]
    assert recorded_from_doc(doc).outcome.changes == (("is_gift", True),)


def test_a_product_named_status_is_restocked_as_a_product():
    order, _ = handle(None, pay(lines=(Line("status", 2, 150),)))
    command = refund_all("r1")
    order, (event,) = handle(order, command)
    stored = BSON.encode(record_doc(command, event, order)).decode()
    assert recorded_from_doc(stored).outcome.restocked == (("status", 2),)
