"""An order's document (collection ``orders``), and the records each write carries."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from shared.domain.model import Line, Order, Origin, Status
from shared.storage.common import cents, money
from shared.timefmt import iso, parse_time

COLLECTION = "orders"
PENDING = "pending"  # in an order's document: the records of its latest write
# Stored for the flow's own use, never shown to a client.
INTERNAL_FIELDS = frozenset({"origin", "revision", PENDING})
# What the API reads of an order: all but the internal fields, except ``revision``, which
# names the write it saw (so its ``Order.origin`` is None: the flow's alone).
CLIENT_READ = {name: 0 for name in sorted(INTERNAL_FIELDS - {"revision"})}
# The same, with the records of the order's latest write (``split_latest_write``).
CLIENT_READ_WITH_LATEST = {name: 0 for name in sorted(INTERNAL_FIELDS - {"revision", PENDING})}


def order_to_doc(order: Order) -> dict[str, Any]:
    doc = order_fields(order, money)
    doc["revision"] = order.revision
    doc["origin"] = _origin_doc(order.origin)
    return doc


def order_fields(order: Order, amount: Callable[[int], Any]) -> dict[str, Any]:
    """The order's document without the internal fields, money written by ``amount``
    (Decimal128 to store it; a JSON number to show it, ``http_api.views``)."""
    return {
        "_id": order.id,
        "userId": order.user_id,
        "checkoutId": order.checkout_id,
        "basketId": order.basket_id,
        "paymentId": order.payment_id,
        "products": [_line_doc(line, amount) for line in order.lines],
        "address": order.address,
        "isGift": order.is_gift,
        "status": str(order.status),
        "totalPrice": amount(order.total_price),
        "refunded": order.refunded,
        "refundedAmount": amount(order.refunded_amount),
        "cardNumber": order.card_number,
        "version": order.version,
        "createdAt": iso(order.created_at),
        "updatedAt": iso(order.updated_at),
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
        created_at=parse_time(doc["createdAt"]),
        updated_at=parse_time(doc["updatedAt"]),
        refunded_amount=cents(doc["refundedAmount"]),
        version=doc["version"],
        revision=doc.get("revision", doc["version"]),
        origin=_origin_from_doc(doc.get("origin")),
    )


def _origin_doc(origin: Origin | None) -> dict[str, Any] | None:
    if origin is None:
        return None
    return {"address": origin.address, "isGift": origin.is_gift, "status": str(origin.status)}


def _origin_from_doc(doc: dict[str, Any] | None) -> Origin | None:
    return None if doc is None else Origin(doc["address"], doc["isGift"], Status(doc["status"]))


def _line_doc(line: Line, amount: Callable[[int], Any]) -> dict[str, Any]:
    return {
        "productId": line.product_id,
        "quantity": line.quantity,
        "price": amount(line.price),
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


def orders_to_write(docs: Iterable[dict[str, Any]], records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest document of each order, carrying the records decided with it."""
    newest: dict[str, dict[str, Any]] = {}
    for doc in docs:
        held = newest.get(doc["_id"])
        if held is None or held["revision"] < doc["revision"]:
            newest[doc["_id"]] = doc
    pending: dict[str, list[dict[str, Any]]] = {order_id: [] for order_id in newest}
    for record in records:
        if record["orderId"] in pending:
            pending[record["orderId"]].append(record)
    return [{**doc, PENDING: pending[order_id]} for order_id, doc in newest.items()]


def missing_records(docs: Iterable[dict[str, Any]], stored_ids: set[str]) -> list[dict[str, Any]]:
    """The records the orders carry that are not stored: a write cut short by a crash."""
    return [r for doc in docs for r in doc.get(PENDING, ()) if r["_id"] not in stored_ids]


def split_latest_write(doc: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An order's document without ``pending``, and the records of its latest write."""
    records = doc.get(PENDING, [])
    return {k: v for k, v in doc.items() if k != PENDING}, records


def merged_history(
    stored: list[dict[str, Any]], pending: list[dict[str, Any]], after_seq: int, limit: int
) -> list[dict[str, Any]]:
    """An order's records past ``after_seq``, oldest first, at most ``limit``: those
    stored, and those of its latest write (``pending``) that are not stored yet."""
    known = {r["_id"] for r in stored}
    more = [r for r in pending if r["seq"] > after_seq and r["_id"] not in known]
    return sorted(stored + more, key=lambda r: r["seq"])[:limit]


def pending_ids(docs: Iterable[dict[str, Any]]) -> list[str]:
    return [r["_id"] for doc in docs for r in doc.get(PENDING, ())]
