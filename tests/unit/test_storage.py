"""The Mongo document of an order: contract field names, exact money, round trip."""

from __future__ import annotations

from decimal import Decimal

from bson import BSON
from bson.decimal128 import Decimal128

from shared.domain import Status, handle
from shared.storage import order_from_doc, order_to_doc
from tests.unit.builders import ADMIN, change, pay, refund_some


def test_the_document_uses_the_contract_fields_and_decimal128_money():
    order, _ = handle(None, pay())
    order, _ = handle(order, refund_some("r1", "apple", 1))
    doc = order_to_doc(order)
    for name in ("_id", "userId", "checkoutId", "basketId", "paymentId", "products", "address", "isGift",
                 "status", "totalPrice", "refunded", "refundedAmount", "cardNumber", "version", "createdAt",
                 "updatedAt"):  # fmt: skip
        assert name in doc
    assert doc["totalPrice"] == Decimal128("23.75") and doc["refundedAmount"] == Decimal128("1.25")
    assert doc["products"][0] == {
        "productId": "apple",
        "quantity": 3,
        "price": Decimal128("1.25"),
        "isRefunded": False,
        "refundedQuantity": 1,
        "sellerId": None,
    }
    assert doc["cardNumber"] == "************4242" and doc["status"] == "PartiallyRefunded"


def test_an_order_survives_a_bson_round_trip_with_its_request_memory():
    order, _ = handle(None, pay())
    order, _ = handle(order, change("u1", by=ADMIN, status=Status.PROCESSING))
    order, _ = handle(order, change("u2", by=ADMIN, status=Status.CANCELLED))
    order, _ = handle(order, refund_some("r1", "apple", 1))  # rejected, remembered
    stored = BSON.encode(order_to_doc(order)).decode()
    assert order_from_doc(stored) == order
    assert stored["totalPrice"].to_decimal() == Decimal("23.75")
