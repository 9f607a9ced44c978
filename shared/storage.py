"""The stored documents (docs/storage.md): an order (collection ``orders``) and the record of each
request that reached it (collection ``order-requests``), and back.

Money is Decimal128 in currency units. Every decided request leaves a record, kept
for the life of the order (a payment leaves none: the order it made is its record).
The records are how a replayed request, however old, yields the outcome it had
the first time (with the same event ids), and they are the order's history. They
are separate documents so that an order's own document does not grow, and get
heavier to write, with every request it sees.

An order is written before the records of the requests it applied, and carries
those records (``pending``: the ones of its latest write, not all of them) until
its next write. A crash between the two writes leaves an order whose ``pending``
records may be missing from ``order-requests``; whoever loads the order finishes
that write first (``missing_records``), so a replayed request always finds its record.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from bson.decimal128 import Decimal128
from pymongo import ASCENDING, DESCENDING, IndexModel

from shared.domain.commands import RejectInvalid, Request, UpdateOrder
from shared.domain.effects import charged, refunded, stock_changes
from shared.domain.events import (
    Event,
    OrderCreated,
    OrderRefunded,
    OrderUpdated,
    ProductRefunded,
    RequestRejected,
)
from shared.domain.model import Line, Order, Origin, Status
from shared.money import from_cents
from shared.schemas.events_in import parse_event
from shared.schemas.outputs import event_payload
from shared.schemas.updatable import FIELD_OF_WIRE_NAME

COLLECTION = "orders"
RECORDS = "order-requests"
PENDING = "pending"  # in an order's document: the records of its latest write
# Stored for the flow's own use, never shown to a client.
INTERNAL_FIELDS = frozenset({"origin", "revision", PENDING})
# What a read for a client leaves out: the internal fields but ``revision``, which names the write it saw.
CLIENT_READ = {name: 0 for name in sorted(INTERNAL_FIELDS - {"revision"})}
# Longer $in lists are slow on SecantusDB (1,000 ids: 0.7 s; 100 ids: 11 ms), so lookups go 100 at a time.
IN_CHUNK = 100

KEYS_COLLECTION = "idempotency-keys"  # the API's Idempotency-Keys, one document each
KEY_TTL_SECONDS = 86_400  # an Idempotency-Key means the same request for a day
KEY_COUNTS = "idempotency-key-counts"  # new keys per user and UTC day: {_id: "user:day", n}

# Each collection's indexes; its writer makes them at start-up (the flow's set-up the
# orders' and records', the API the keys').
INDEXES: dict[str, list[IndexModel]] = {
    COLLECTION: [
        IndexModel([("paymentId", ASCENDING)], unique=True),
        IndexModel([("userId", ASCENDING), ("createdAt", DESCENDING)]),  # a user's orders, newest first
    ],
    RECORDS: [IndexModel([("orderId", ASCENDING), ("seq", ASCENDING)], unique=True)],  # an order's history
    KEYS_COLLECTION: [IndexModel([("createdAt", ASCENDING)], expireAfterSeconds=KEY_TTL_SECONDS)],
    KEY_COUNTS: [IndexModel([("createdAt", ASCENDING)], expireAfterSeconds=2 * KEY_TTL_SECONDS)],
}


def id_queries(order_ids: list[str]) -> Iterator[dict[str, Any]]:
    """``{"_id": {"$in": ...}}`` queries covering ``order_ids``, a chunk each."""
    for start in range(0, len(order_ids), IN_CHUNK):
        yield {"_id": {"$in": order_ids[start : start + IN_CHUNK]}}


_EVENTS = {cls.__name__: cls for cls in (OrderCreated, OrderRefunded, ProductRefunded, OrderUpdated, RequestRejected)}


@lru_cache(maxsize=65_536)
def money(cents: int) -> Decimal128:
    # Decimal128 is immutable and slow to build; prices repeat, so building each once pays.
    return Decimal128(from_cents(cents))


def cents(value: Decimal128 | int | float) -> int:
    """Stored money (Decimal128; a number in documents written by hand) to cents,
    rounding half to even, as ``from_cents`` wrote it: the one way back from Mongo."""
    amount = value.to_decimal() if isinstance(value, Decimal128) else Decimal(str(value))
    return int((amount * 100).to_integral_value(ROUND_HALF_EVEN))


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


# --- request records ---------------------------------------------------------


class Recorded(NamedTuple):
    """A command's outcome as recorded, and the order revision it left."""

    seq: int
    outcome: Event


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


def pending_ids(docs: Iterable[dict[str, Any]]) -> list[str]:
    return [r["_id"] for doc in docs for r in doc.get(PENDING, ())]


def key_doc_id(user_id: str, key_hash: str) -> str:
    """An Idempotency-Key's document: the same key from another user is another key."""
    return f"{user_id}:{key_hash}"


def seconds_to_next_day(now: datetime) -> float:
    """Until a user's count of new Idempotency-Keys starts again (UTC midnight)."""
    tomorrow = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return (tomorrow - now).total_seconds()


def record_id(order_id: str, request_id: str) -> str:
    """One record per request of an order."""
    return f"{order_id}/request/{request_id}"


def record_doc(command: Request, event: Event, order: Order) -> dict[str, Any]:
    """The record of ``command``, decided as ``event``, which left ``order``."""
    actor = getattr(command, "requested_by", None)
    rejected = isinstance(event, RequestRejected)
    return {
        "_id": record_id(order.id, command.request_id),
        "orderId": order.id,
        "seq": order.revision,
        "requestId": command.request_id,
        "kind": _kind(command),
        "requestedBy": None if actor is None else {"userId": actor.user_id, "roles": list(actor.roles)},
        "requestedAt": command.at,
        "status": "rejected" if rejected else "applied",
        "reason": event.reason if rejected else None,
        "detail": event.detail if rejected else None,
        "charged": money(charged(event)),
        "refunded": money(refunded(event)),
        "stock": [{"productId": p, "delta": d} for p, d, _ in stock_changes(event)],
        "type": type(event).__name__,
        "event": event_payload(event, order),  # as order-events carries it, read by its parser
    }


class RecordView(NamedTuple):
    """A stored request record as its readers (the API's outcomes and history) need it."""

    request_id: str
    kind: str
    requested_by: dict[str, Any] | None
    requested_at: str
    rejected: bool
    reason: str | None
    detail: str
    event_type: str
    event_id: str
    version: int
    revision: int
    charged: int  # cents
    refunded: int  # cents
    stock: list[dict[str, Any]]


def read_record(doc: dict[str, Any]) -> RecordView:
    return RecordView(
        request_id=doc["requestId"],
        kind=doc["kind"],
        requested_by=doc["requestedBy"],
        requested_at=doc["requestedAt"],
        rejected=doc["status"] == "rejected",
        reason=doc["reason"],
        detail=doc["detail"] or "",
        event_type=doc["type"],
        event_id=_event_id(doc["event"]),
        version=doc["event"]["version"],
        revision=doc["seq"],
        charged=cents(doc["charged"]),
        refunded=cents(doc["refunded"]),
        stock=doc["stock"],
    )


def recorded_from_doc(doc: dict[str, Any]) -> Recorded:
    event = doc["event"]
    return Recorded(doc["seq"], parse_event(event) if "eventId" in event else _legacy_event(doc["type"], event))


def _event_id(event: dict[str, Any]) -> str:
    return event["eventId"] if "eventId" in event else event["event_id"]


def _kind(command: Request) -> str:
    if isinstance(command, UpdateOrder):
        return "update"
    if isinstance(command, RejectInvalid):
        return "invalid"
    return "refund"


def _legacy_event(type_name: str, doc: dict[str, Any]) -> Event:
    """A record stored before records held the order-events payload: the event's fields
    by name, money in cents (read only; nothing writes this form any more)."""
    cls = _EVENTS[type_name]
    data = {k: v for k, v in doc.items() if k in cls._fields}
    if "restocked" in data:
        data["restocked"] = tuple((product_id, quantity) for product_id, quantity in data["restocked"])
    if "changes" in data:
        data["changes"] = tuple(_change(name, value) for name, value in data["changes"])
    if "lines" in data:
        data["lines"] = tuple(Line(*line) for line in data["lines"])
    if "status" in data:
        data["status"] = Status(data["status"])
    return cls(**data)


def _change(name: str, value: Any) -> tuple[str, object]:
    # Records stored before changes named the Order's fields hold the wire name "isGift".
    field = FIELD_OF_WIRE_NAME.get(name, name)
    return field, Status(value) if field == "status" else value
