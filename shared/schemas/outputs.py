"""What the service emits: contract payloads for every event, keyed and topic-tagged."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.domain.effects import stock_changes
from shared.domain.events import (
    Event,
    OrderCreated,
    OrderRefunded,
    OrderUpdated,
    ProductRefunded,
    RequestRejected,
)
from shared.domain.model import Line, Order, Status
from shared.ids import event_id
from shared.money import json_number
from shared.redact import mask_cards, mask_cards_in_bytes
from shared.schemas.updatable import WIRE_NAME_OF_FIELD
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


def event_payload(event: Event, order: Order | None) -> dict[str, Any]:
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
    payload.update(_details(event))
    return payload


def _details(event: Event) -> dict[str, Any]:
    if isinstance(event, OrderCreated):
        return {
            "basketId": event.basket_id,
            "checkoutId": event.checkout_id,
            "totalPrice": json_number(event.total_price),
            "products": [_product(line) for line in event.lines],
            "address": event.address,
            "isGift": event.is_gift,
            "status": str(event.status),
            "cardNumber": event.card_number,
        }
    if isinstance(event, OrderRefunded):
        return {"amount": json_number(event.amount), "products": _stock(event.restocked)}
    if isinstance(event, ProductRefunded):
        return {
            "productId": event.product_id,
            "quantity": event.quantity,
            "amount": json_number(event.amount),
        }
    if isinstance(event, OrderUpdated):
        details: dict[str, Any] = {"changes": {WIRE_NAME_OF_FIELD[k]: _plain(v) for k, v in event.changes}}
        if event.restocked or event.amount:
            details.update(amount=json_number(event.amount), products=_stock(event.restocked))
        return details
    if isinstance(event, RequestRejected):
        return {"reason": event.reason, "detail": event.detail, "recorded": event.recorded}
    raise TypeError(type(event).__name__)


def _plain(value: object) -> object:
    return str(value) if isinstance(value, Status) else value


def _product(line: Line) -> dict[str, Any]:
    product: dict[str, Any] = {
        "productId": line.product_id,
        "quantity": line.quantity,
        "price": json_number(line.price),
    }
    if line.seller_id is not None:
        product["sellerId"] = line.seller_id
    return product


def _stock(restocked: tuple[tuple[str, int], ...]) -> list[dict[str, Any]]:
    return [{"productId": p, "quantity": q} for p, q in restocked]


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
            OutMessage(topics.compat_order_created.name, key, {"products": [_product(line) for line in event.lines]}),
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
            OutMessage(topics.compat_products_restocked.name, key, {"products": _stock(event.restocked)}),
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


class DeadReason(StrEnum):
    """Why a message went to the dead-letter topic (its ``reason``, a metric label)."""

    INVALID = "invalid"  # not JSON, not an object, or a field the contract refuses
    KAFKA_ERROR = "kafka-error"  # the consumer handed on an error with the message
    PAYMENT_LOOKUP = "payment-lookup"  # a paymentId-only payment could not be completed
    INTERNAL = "internal-error"  # a step failed on this message: a bug, kept for replay once fixed


# A dead letter must fit the broker's message limit (1 MB by default) once its value
# is escaped into JSON, which can grow it 6 times; past this its value is cut short.
MAX_DEAD_LETTER_BYTES = 512 * 1024
TRUNCATED_VALUE_BYTES = 64 * 1024
MAX_KEY_BYTES = 1_000  # a dead letter's key (and its key field) is at most this long
MAX_HEADERS, MAX_HEADER_BYTES = 64, 8 * 1024  # a dead letter keeps this much of its message's headers


def dead_letter(
    topics: Topics,
    source_topic: str | None,
    partition: int | None,
    offset: int | None,
    key: bytes | None,
    value: bytes | None,
    error: str,
    reason: DeadReason = DeadReason.INVALID,
    headers: Sequence[tuple[str, bytes | None]] = (),
) -> OutMessage:
    """The dead letter of a message, card numbers masked; a value too large to carry is
    cut to its first bytes, with the whole value's size and SHA-256 to find it by.
    ``masked`` / ``truncated`` say when it no longer holds the message exactly (ops.redrive
    sends back only exact ones)."""
    original = (key, value, list(headers))
    masked_key = None if key is None else mask_cards_in_bytes(key)
    cut_key = None if masked_key is None else _utf8_prefix(masked_key[:MAX_KEY_BYTES])  # masked, then cut
    masked = None if value is None else mask_cards_in_bytes(value)
    masked_headers = [(name, None if v is None else mask_cards_in_bytes(v)) for name, v in headers]
    kept = [(name, None if v is None else v[:MAX_HEADER_BYTES]) for name, v in masked_headers[:MAX_HEADERS]]
    text_key = _text_or_base64(cut_key)
    letter: dict[str, Any] = {
        "topic": source_topic,
        "partition": partition,
        "offset": offset,
        "key": text_key,
        "keyEncoding": "utf-8" if _is_utf8(cut_key) else "base64",
        "value": _text_or_base64(masked),
        "valueEncoding": "utf-8" if _is_utf8(masked) else "base64",
        "headers": [_header(name, v) for name, v in kept],
        "reason": str(reason),
        "error": mask_cards(error)[:2_000],  # masked, then cut
    }
    if (masked_key, masked, masked_headers) != original:
        letter["masked"] = True  # a card number was starred: the message is no longer whole
    if cut_key != masked_key or kept != masked_headers:
        letter["truncated"] = True
    if value is not None and (len(value) > TRUNCATED_VALUE_BYTES and len(dumps(letter)) > MAX_DEAD_LETTER_BYTES):
        cut = _utf8_prefix(masked[:TRUNCATED_VALUE_BYTES])
        letter.update(
            value=_text_or_base64(cut),
            valueEncoding="utf-8" if _is_utf8(cut) else "base64",
            truncated=True,
            valueBytes=len(value),
            valueSha256=hashlib.sha256(value).hexdigest(),
        )
    return OutMessage(topics.order_dlq.name, text_key or "", letter)


def _header(name: str, value: bytes | None) -> dict[str, str | None]:
    return {"key": name, "value": _text_or_base64(value), "valueEncoding": "utf-8" if _is_utf8(value) else "base64"}


def _utf8_prefix(cut: bytes) -> bytes:
    """``cut`` without a UTF-8 character its end split, so that text stays text."""
    try:
        cut.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(cut) - 3 and exc.reason == "unexpected end of data":
            return cut[: exc.start]
    return cut


def _is_utf8(raw: bytes | None) -> bool:
    try:
        (raw or b"").decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _text_or_base64(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    return raw.decode("utf-8") if _is_utf8(raw) else base64.b64encode(raw).decode()
