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
from shared.schemas.event_codec import event_payload, product_payload, stock_payload
from shared.timefmt import iso
from shared.topics import Topics


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


def _with_ids(event: Event, messages: list[OutMessage]) -> list[OutMessage]:
    """Each original-topic message with an ``eventId`` of its own, to drop repeats by."""
    return [
        OutMessage(m.topic, m.key, {"eventId": event_id(event.event_id, "compat", i), **m.value})
        for i, m in enumerate(messages)
    ]


# --- quantity-update ---------------------------------------------------------


def _stock_messages(event: Event, topics: Topics) -> list[OutMessage]:
    return [
        OutMessage(
            topics.quantity_update.name,
            product_id,
            {
                "eventId": event_id(event.event_id, "stock", index),
                "productId": product_id,
                "delta": delta,
                "orderId": event.order_id,
                "reason": reason,
                "occurredAt": iso(event.occurred_at),
            },
        )
        for index, (product_id, delta, reason) in enumerate(stock_changes(event))
    ]


# --- the original service's topics ------------------------------------------


def _compat_messages(event: Event, order: Order, topics: Topics) -> list[OutMessage]:
    key = order.id
    if isinstance(event, OrderCreated):
        return [
            OutMessage(
                topics.compat_order_created.name, key, {"products": [product_payload(line) for line in event.lines]}
            ),
            OutMessage(
                topics.compat_basket_clear.name,
                key,
                {"basketId": order.basket_id, "userId": order.user_id, "setUsage": True},
            ),
            OutMessage(
                topics.compat_checkout_inactive.name,
                key,
                {"checkout": {"_id": order.checkout_id, "isActive": False}},
            ),
        ]
    if isinstance(event, (OrderRefunded, OrderUpdated)) and event.restocked:
        return [
            OutMessage(
                topics.compat_order_refunded.name,
                key,
                {"refunded": True, "totalPrice": json_number(event.amount), "paymentId": order.payment_id},
            ),
            OutMessage(topics.compat_products_restocked.name, key, {"products": stock_payload(event.restocked)}),
        ]
    if isinstance(event, ProductRefunded):
        return [
            OutMessage(
                topics.compat_product_refunded.name,
                key,
                {
                    "productId": event.product_id,
                    "price": json_number(event.amount),
                    "cardNumber": order.card_number,
                    "paymentId": order.payment_id,
                },
            ),
            OutMessage(
                topics.compat_product_restocked.name,
                key,
                {"productId": event.product_id, "refundedQuantity": event.quantity},
            ),
        ]
    return []
