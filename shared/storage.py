"""The Mongo document of an order (CONTRACTS.md, collection ``orders``) and back.

Money is Decimal128 in currency units. ``requests`` remembers recent request
outcomes so that a replayed request yields the same outcome after a restart.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from bson.decimal128 import Decimal128

from shared.domain.events import (
    OrderRefunded,
    OrderUpdated,
    ProductRefunded,
    RequestRejected,
)
from shared.domain.model import Line, Order, Origin, RequestRecord, Status
from shared.money import from_cents

COLLECTION = "orders"
# Longer $in lists are slow on SecantusDB (1,000 ids: 0.7 s; 100 ids: 11 ms), so lookups go 100 at a time.
IN_CHUNK = 100


def id_queries(order_ids: list[str]) -> Iterator[dict[str, Any]]:
    """``{"_id": {"$in": ...}}`` queries covering ``order_ids``, a chunk each."""
    for start in range(0, len(order_ids), IN_CHUNK):
        yield {"_id": {"$in": order_ids[start : start + IN_CHUNK]}}


_OUTCOMES = {cls.__name__: cls for cls in (OrderRefunded, ProductRefunded, OrderUpdated, RequestRejected)}
_TUPLE_FIELDS = {"restocked", "changes"}


@lru_cache(maxsize=65_536)
def money(cents: int) -> Decimal128:
    # Decimal128 is immutable and slow to build; prices repeat, so building each once pays.
    return Decimal128(from_cents(cents))


def cents(value: Decimal128 | int | float) -> int:
    if isinstance(value, Decimal128):
        return int(value.to_decimal() * 100)
    return round(value * 100)


def order_to_doc(order: Order) -> dict[str, Any]:
    return {
        "_id": order.id,
        "userId": order.user_id,
        "checkoutId": order.checkout_id,
        "basketId": order.basket_id,
        "paymentId": order.payment_id,
        "products": [_line_doc(line) for line in order.lines],
        "address": order.address,
        "isGift": order.is_gift,
        "status": str(order.status),
        "totalPrice": money(order.total_price),
        "refunded": order.refunded,
        "refundedAmount": money(order.refunded_amount),
        "cardNumber": order.card_number,
        "version": order.version,
        "revision": order.revision,
        "createdAt": order.created_at,
        "updatedAt": order.updated_at,
        "requests": [_record_doc(r) for r in order.requests],
        "origin": _origin_doc(order.origin),
    }


def order_from_doc(doc: dict[str, Any]) -> Order:
    return Order(
        id=doc["_id"],
        user_id=doc["userId"],
        checkout_id=doc["checkoutId"],
        basket_id=doc["basketId"],
        payment_id=doc["paymentId"],
        lines=tuple(_line_from_doc(p) for p in doc["products"]),
        address=doc["address"],
        is_gift=doc["isGift"],
        status=Status(doc["status"]),
        total_price=cents(doc["totalPrice"]),
        card_number=doc["cardNumber"],
        created_at=doc["createdAt"],
        updated_at=doc["updatedAt"],
        refunded_amount=cents(doc["refundedAmount"]),
        version=doc["version"],
        revision=doc.get("revision", doc["version"]),
        requests=tuple(_record_from_doc(r) for r in doc.get("requests", [])),
        origin=_origin_from_doc(doc.get("origin")),
    )


def _origin_doc(origin: Origin | None) -> dict[str, Any] | None:
    if origin is None:
        return None
    return {"address": origin.address, "isGift": origin.is_gift, "status": str(origin.status)}


def _origin_from_doc(doc: dict[str, Any] | None) -> Origin | None:
    return None if doc is None else Origin(doc["address"], doc["isGift"], Status(doc["status"]))


def _line_doc(line: Line) -> dict[str, Any]:
    return {
        "productId": line.product_id,
        "quantity": line.quantity,
        "price": money(line.price),
        "isRefunded": line.remaining == 0,
        "refundedQuantity": line.refunded_quantity,
        "sellerId": line.seller_id,
    }


def _line_from_doc(doc: dict[str, Any]) -> Line:
    return Line(
        product_id=doc["productId"],
        quantity=doc["quantity"],
        price=cents(doc["price"]),
        refunded_quantity=doc.get("refundedQuantity", 0),
        seller_id=doc.get("sellerId"),
    )


def _record_doc(record: RequestRecord) -> dict[str, Any]:
    outcome = record.outcome._asdict()
    for name in _TUPLE_FIELDS & outcome.keys():
        outcome[name] = [[k, str(v) if isinstance(v, Status) else v] for k, v in outcome[name]]
    return {"requestId": record.request_id, "type": type(record.outcome).__name__, "outcome": outcome}


def _record_from_doc(doc: dict[str, Any]) -> RequestRecord:
    cls = _OUTCOMES[doc["type"]]
    names = set(cls._fields)
    data = {k: v for k, v in doc["outcome"].items() if k in names}
    for name in _TUPLE_FIELDS & data.keys():
        data[name] = tuple((k, Status(v) if k == "status" else v) for k, v in data[name])
    return RequestRecord(doc["requestId"], cls(**data))
