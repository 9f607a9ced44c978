"""Events as ``order-events`` carries them and records hold them, both directions side
by side: each event type's encoder beside its decoder, dispatched on the type once.
Records stored before they held the wire form are read by ``legacy_event``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any, NamedTuple

from shared.domain.events import (
    Event,
    OrderCreated,
    OrderRefunded,
    OrderUpdated,
    ProductRefunded,
    RequestRejected,
)
from shared.domain.model import Line, Order, Status
from shared.money import json_number, to_cents
from shared.schemas.contract import AMOUNT, BOOLEAN, NAME, STRING, STRING_OR_NULL, WHEN, Emitted, array_of, const
from shared.schemas.updatable import FIELD_OF_WIRE_NAME, WIRE_NAME_OF_FIELD
from shared.timefmt import iso, parse_time

Head = tuple[str, str, int, Any]  # event id, order id, version, occurred at


class Codec(NamedTuple):
    encode: Callable[[Any], dict[str, Any]]  # the event's own fields, after the common head
    decode: Callable[[Head, dict[str, Any]], Event]


def event_payload(event: Event, order: Order | None) -> dict[str, Any]:
    """The event as ``order-events`` carries it (docs/topics.md)."""
    payload: dict[str, Any] = {
        "eventId": event.event_id,
        "type": type(event).__name__,
        "orderId": event.order_id,
        "version": event.version,
        "paymentId": order.payment_id if order else None,
        "userId": order.user_id if order else None,
        "occurredAt": iso(event.occurred_at),
    }
    if event.request_id is not None:
        payload["requestId"] = event.request_id
    payload.update(CODECS[type(event)].encode(event))
    return EVENTS[type(event)].checked(payload)


def parse_event(payload: dict[str, Any]) -> Event:
    """KeyError or ValueError for a payload this service did not write."""
    codec = _BY_NAME.get(payload["type"])
    if codec is None:
        raise ValueError(f"unknown event type {payload['type']!r}")
    head = (payload["eventId"], payload["orderId"], payload["version"], parse_time(payload["occurredAt"]))
    return codec.decode(head, payload)


# --- each type, encoded and decoded ---------------------------------------------


def _encode_created(event: OrderCreated) -> dict[str, Any]:
    return {
        "basketId": event.basket_id,
        "checkoutId": event.checkout_id,
        "totalPrice": json_number(event.total_price),
        "products": [product_payload(line) for line in event.lines],
        "address": event.address,
        "isGift": event.is_gift,
        "status": str(event.status),
        "cardNumber": event.card_number,
    }


def _decode_created(head: Head, p: dict[str, Any]) -> Event:
    return OrderCreated(
        *head,
        p["paymentId"],
        p["userId"],
        p["checkoutId"],
        p["basketId"],
        tuple(_line(product) for product in p["products"]),
        p["address"],
        p["isGift"],
        _cents(p["totalPrice"]),
        p["cardNumber"],
        Status(p["status"]),
        p.get("requestId"),
    )


def _encode_order_refunded(event: OrderRefunded) -> dict[str, Any]:
    return {"amount": json_number(event.amount), "products": stock_payload(event.restocked)}


def _decode_order_refunded(head: Head, p: dict[str, Any]) -> Event:
    return OrderRefunded(*head, p["requestId"], _cents(p["amount"]), _stock(p["products"]))


def _encode_product_refunded(event: ProductRefunded) -> dict[str, Any]:
    return {"productId": event.product_id, "quantity": event.quantity, "amount": json_number(event.amount)}


def _decode_product_refunded(head: Head, p: dict[str, Any]) -> Event:
    return ProductRefunded(*head, p["requestId"], p["productId"], p["quantity"], _cents(p["amount"]))


def _encode_updated(event: OrderUpdated) -> dict[str, Any]:
    details: dict[str, Any] = {"changes": {WIRE_NAME_OF_FIELD[k]: _plain(v) for k, v in event.changes}}
    if event.restocked or event.amount:
        details.update(amount=json_number(event.amount), products=stock_payload(event.restocked))
    return details


def _decode_updated(head: Head, p: dict[str, Any]) -> Event:
    changes = tuple(sorted((FIELD_OF_WIRE_NAME[k], Status(v) if k == "status" else v) for k, v in p["changes"].items()))
    amount = _cents(p.get("amount", 0))
    return OrderUpdated(*head, p["requestId"], changes, amount, _stock(p.get("products", [])))


def _encode_rejected(event: RequestRejected) -> dict[str, Any]:
    return {"reason": event.reason, "detail": event.detail, "recorded": event.recorded}


def _decode_rejected(head: Head, p: dict[str, Any]) -> Event:
    return RequestRejected(
        *head, p["requestId"], p["reason"], p.get("detail", ""), p.get("recorded", True) is not False
    )


CODECS: dict[type, Codec] = {
    OrderCreated: Codec(_encode_created, _decode_created),
    OrderRefunded: Codec(_encode_order_refunded, _decode_order_refunded),
    ProductRefunded: Codec(_encode_product_refunded, _decode_product_refunded),
    OrderUpdated: Codec(_encode_updated, _decode_updated),
    RequestRejected: Codec(_encode_rejected, _decode_rejected),
}
_BY_NAME = {cls.__name__: codec for cls, codec in CODECS.items()}


# --- each type's fields on the wire (order-events' JSON Schema is made from these) -----

PRODUCT = Emitted(
    {"productId": NAME, "quantity": {"type": "integer", "minimum": 1}, "price": AMOUNT, "sellerId": STRING},
    "An order line; price is the unit price.",
    optional=frozenset({"sellerId"}),
)
RESTOCKED = Emitted({"productId": NAME, "quantity": {"type": "integer", "minimum": 1}}, "Stock given back.")
STATUS = {"enum": [str(s) for s in Status]}
HEAD = Emitted(
    {
        "eventId": {**NAME, "description": "Deterministic: a replay sends the same id; drop repeats by it."},
        "type": STRING,
        "orderId": NAME,
        "version": {"type": "integer", "minimum": 1, "description": "The order's revision after this event."},
        "paymentId": STRING_OR_NULL,
        "userId": STRING_OR_NULL,
        "occurredAt": WHEN,
        "requestId": {**NAME, "description": "The request this event answers."},
    },
    optional=frozenset({"requestId"}),
)
ANSWER = frozenset({"requestId"})  # an answer to a request always names it
EVENTS: dict[type, Emitted] = {
    OrderCreated: HEAD.extended(
        {
            "type": const("OrderCreated"),
            "basketId": NAME,
            "checkoutId": NAME,
            "totalPrice": AMOUNT,
            "products": array_of(PRODUCT),
            "address": STRING,
            "isGift": BOOLEAN,
            "status": STATUS,
            "cardNumber": {**STRING, "description": "Masked: its last 4 digits."},
        },
        "An order made from a payment, with everything needed to make it again.",
    ),
    OrderRefunded: HEAD.extended(
        {"type": const("OrderRefunded"), "amount": AMOUNT, "products": array_of(RESTOCKED)},
        "The whole order refunded: amount goes back to the card.",
        required=ANSWER,
    ),
    ProductRefunded: HEAD.extended(
        {
            "type": const("ProductRefunded"),
            "productId": NAME,
            "quantity": {"type": "integer", "minimum": 1},
            "amount": AMOUNT,
        },
        "Part of one line refunded.",
        required=ANSWER,
    ),
    OrderUpdated: HEAD.extended(
        {
            "type": const("OrderUpdated"),
            "changes": {
                "type": "object",
                "properties": {"address": STRING, "isGift": BOOLEAN, "status": STATUS},
                "additionalProperties": False,
            },
            "amount": AMOUNT,
            "products": array_of(RESTOCKED),
        },
        "An order changed; a cancellation of a paid order also gives back amount and products.",
        optional=frozenset({"amount", "products"}),
        required=ANSWER,
    ),
    RequestRejected: HEAD.extended(
        {
            "type": const("RequestRejected"),
            "reason": {**NAME, "description": "Why (docs/orders.md)."},
            "detail": STRING,
            "recorded": {**BOOLEAN, "description": "False when nothing was stored (a frozen order)."},
        },
        "A request that changed nothing.",
        required=ANSWER,
    ),
}
_TYPES: dict[str, Any] = {cls.__name__: cls for cls in CODECS}


# --- the parts ------------------------------------------------------------------


def product_payload(line: Line) -> dict[str, Any]:
    product: dict[str, Any] = {
        "productId": line.product_id,
        "quantity": line.quantity,
        "price": json_number(line.price),
    }
    if line.seller_id is not None:
        product["sellerId"] = line.seller_id
    return product


def stock_payload(restocked: tuple[tuple[str, int], ...]) -> list[dict[str, Any]]:
    return [{"productId": p, "quantity": q} for p, q in restocked]


def _plain(value: object) -> object:
    return str(value) if isinstance(value, Status) else value


def _cents(value: Any) -> int:
    return to_cents(value if isinstance(value, (int, Decimal)) else Decimal(str(value)))


def _line(product: dict[str, Any]) -> Line:
    return Line(product["productId"], product["quantity"], _cents(product["price"]), 0, product.get("sellerId"))


def _stock(products: list[dict[str, Any]]) -> tuple[tuple[str, int], ...]:
    return tuple((p["productId"], p["quantity"]) for p in products)


# --- reading many, and the older form -------------------------------------------


def decided_events(payloads: Iterable[dict[str, Any]]) -> Iterator[Event]:
    """Each decision once: replays' copies (same ``eventId``) and ``order-not-found``
    rejections left out. Such a rejection touched no order, and its request may be
    decided for real later, when the order exists, under the same event id."""
    seen: set[str] = set()
    for payload in payloads:
        if payload.get("reason") == "order-not-found" or payload["eventId"] in seen:
            continue
        seen.add(payload["eventId"])
        yield parse_event(payload)


def legacy_event(type_name: str, doc: dict[str, Any]) -> Event:
    """A record stored before records held the order-events payload: the event's fields
    by name, money in cents (read only; nothing writes this form any more)."""
    cls = _TYPES[type_name]
    data = {k: v for k, v in doc.items() if k in cls._fields}
    if "restocked" in data:
        data["restocked"] = tuple((product_id, quantity) for product_id, quantity in data["restocked"])
    if "changes" in data:
        data["changes"] = tuple(_legacy_change(name, value) for name, value in data["changes"])
    if "lines" in data:
        data["lines"] = tuple(Line(*line) for line in data["lines"])
    if "status" in data:
        data["status"] = Status(data["status"])
    data["occurred_at"] = parse_time(data["occurred_at"])
    event: Event = cls(**data)
    return event


def _legacy_change(name: str, value: Any) -> tuple[str, object]:
    # Records stored before changes named the Order's fields hold the wire name "isGift".
    field = FIELD_OF_WIRE_NAME.get(name, name)
    return field, Status(value) if field == "status" else value
