"""What the service emits for its events: on order-events (``event_codec``), quantity-update
and the original service's topics, keyed and topic-tagged."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shared.domain.effects import stock_changes
from shared.domain.events import Event, OrderCreated, OrderRefunded, OrderUpdated, ProductRefunded
from shared.domain.model import Order
from shared.ids import event_id
from shared.money import json_number
from shared.schemas.contract import AMOUNT, INTEGER, NAME, STRING, WHEN, Emitted, array_of, const
from shared.schemas.event_codec import PRODUCT, RESTOCKED, event_payload, product_payload, stock_payload
from shared.timefmt import iso
from shared.topics import Topic, Topics


@dataclass(frozen=True, slots=True)
class OutMessage:
    topic: str
    key: str
    value: dict[str, Any]

    def encode(self) -> tuple[bytes, bytes]:
        return self.key.encode(), dumps(self.value)


def dumps(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def render(events: Iterable[Event], order: Order | None, topics: Topics) -> list[OutMessage]:
    """Messages for ``events``, the same each time (a replay sends them again, with the
    same ids): at least once on every topic, the original service's included."""
    out: list[OutMessage] = []
    for event in events:
        out.append(OutMessage(topics.order_events.name, event.order_id, event_payload(event, order)))
        out.extend(_stock_messages(event, topics))
        if topics.compat and order is not None:
            out.extend(_with_ids(event, _compat_messages(event, order, topics)))
    return out


def _with_ids(event: Event, messages: list[tuple[Topic, str, dict[str, Any]]]) -> list[OutMessage]:
    """Each original-topic message with an ``eventId`` of its own, to drop repeats by."""
    return [
        OutMessage(
            topic.name, key, COMPAT[topic.role].checked({"eventId": event_id(event.event_id, "compat", i), **value})
        )
        for i, (topic, key, value) in enumerate(messages)
    ]


# --- the original service's topics ------------------------------------------

COMPAT_ID = {"eventId": {**NAME, "description": "Not in the original payload: the same on every repeat."}}
COMPAT: dict[str, Emitted] = {  # by topic role
    "compat_order_created": Emitted({**COMPAT_ID, "products": array_of(PRODUCT)}, "An order was made."),
    "compat_basket_clear": Emitted(
        {**COMPAT_ID, "basketId": NAME, "userId": NAME, "setUsage": const(True)}, "Clear the order's basket."
    ),
    "compat_checkout_inactive": Emitted(
        {
            **COMPAT_ID,
            "checkout": {
                "type": "object",
                "properties": {"_id": NAME, "isActive": const(False)},
                "required": ["_id", "isActive"],
                "additionalProperties": False,
            },
        },
        "The order's checkout is used.",
    ),
    "compat_order_refunded": Emitted(
        {**COMPAT_ID, "refunded": const(True), "totalPrice": AMOUNT, "paymentId": NAME}, "The whole order refunded."
    ),
    "compat_products_restocked": Emitted({**COMPAT_ID, "products": array_of(RESTOCKED)}, "Stock given back."),
    "compat_product_refunded": Emitted(
        {
            **COMPAT_ID,
            "productId": NAME,
            "price": {**AMOUNT, "description": "Unit price times quantity."},
            "cardNumber": {**STRING, "description": "Masked: its last 4 digits."},
            "paymentId": NAME,
        },
        "Part of one line refunded.",
    ),
    "compat_product_restocked": Emitted(
        {**COMPAT_ID, "productId": NAME, "refundedQuantity": {"type": "integer", "minimum": 1}},
        "Stock of one product given back.",
    ),
}


# --- quantity-update ---------------------------------------------------------

STOCK_CHANGE = Emitted(
    {
        "eventId": NAME,
        "productId": NAME,
        "delta": {**INTEGER, "description": "Negative when an order takes stock, positive when it is given back."},
        "orderId": NAME,
        "reason": {"enum": ["order-created", "order-refunded", "product-refunded"]},
        "occurredAt": WHEN,
    },
    "A change of a product's stock.",
)


def _stock_messages(event: Event, topics: Topics) -> list[OutMessage]:
    return [
        OutMessage(
            topics.quantity_update.name,
            product_id,
            STOCK_CHANGE.checked(
                {
                    "eventId": event_id(event.event_id, "stock", index),
                    "productId": product_id,
                    "delta": delta,
                    "orderId": event.order_id,
                    "reason": reason,
                    "occurredAt": iso(event.occurred_at),
                }
            ),
        )
        for index, (product_id, delta, reason) in enumerate(stock_changes(event))
    ]


def _compat_messages(event: Event, order: Order, topics: Topics) -> list[tuple[Topic, str, dict[str, Any]]]:
    key = order.id
    if isinstance(event, OrderCreated):
        return [
            (topics.compat_order_created, key, {"products": [product_payload(line) for line in event.lines]}),
            (
                topics.compat_basket_clear,
                key,
                {"basketId": order.basket_id, "userId": order.user_id, "setUsage": True},
            ),
            (
                topics.compat_checkout_inactive,
                key,
                {"checkout": {"_id": order.checkout_id, "isActive": False}},
            ),
        ]
    if isinstance(event, (OrderRefunded, OrderUpdated)) and event.restocked:
        return [
            (
                topics.compat_order_refunded,
                key,
                {"refunded": True, "totalPrice": json_number(event.amount), "paymentId": order.payment_id},
            ),
            (topics.compat_products_restocked, key, {"products": stock_payload(event.restocked)}),
        ]
    if isinstance(event, ProductRefunded):
        return [
            (
                topics.compat_product_refunded,
                key,
                {
                    "productId": event.product_id,
                    "price": json_number(event.amount),
                    "cardNumber": order.card_number,
                    "paymentId": order.payment_id,
                },
            ),
            (
                topics.compat_product_restocked,
                key,
                {"productId": event.product_id, "refundedQuantity": event.quantity},
            ),
        ]
    return []
