"""``order-events`` payloads back into domain events: what the rebuild and the
reconciliation read. The inverse of ``shared.schemas.outputs.event_payload``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from shared.domain.events import (
    Event,
    OrderCreated,
    OrderRefunded,
    OrderUpdated,
    ProductRefunded,
    RequestRejected,
)
from shared.domain.model import Line, Status
from shared.money import to_cents
from shared.schemas.updatable import FIELD_OF_WIRE_NAME
from shared.timefmt import parse_time


def parse_event(payload: dict[str, Any]) -> Event:
    """KeyError or ValueError for a payload this service did not write."""
    kind = payload["type"]
    head = (payload["eventId"], payload["orderId"], payload["version"], parse_time(payload["occurredAt"]))
    if kind == "OrderCreated":
        return OrderCreated(
            *head,
            payload["paymentId"],
            payload["userId"],
            payload["checkoutId"],
            payload["basketId"],
            tuple(_line(p) for p in payload["products"]),
            payload["address"],
            payload["isGift"],
            _cents(payload["totalPrice"]),
            payload["cardNumber"],
            Status(payload["status"]),
            payload.get("requestId"),
        )
    request_id = payload["requestId"]
    if kind == "OrderRefunded":
        return OrderRefunded(*head, request_id, _cents(payload["amount"]), _stock(payload["products"]))
    if kind == "ProductRefunded":
        return ProductRefunded(*head, request_id, payload["productId"], payload["quantity"], _cents(payload["amount"]))
    if kind == "OrderUpdated":
        changes = tuple(
            sorted((FIELD_OF_WIRE_NAME[k], Status(v) if k == "status" else v) for k, v in payload["changes"].items())
        )
        amount = _cents(payload.get("amount", 0))
        return OrderUpdated(*head, request_id, changes, amount, _stock(payload.get("products", [])))
    if kind == "RequestRejected":
        return RequestRejected(
            *head, request_id, payload["reason"], payload.get("detail", ""), payload.get("recorded", True) is not False
        )
    raise ValueError(f"unknown event type {kind!r}")


def _cents(value: Any) -> int:
    return to_cents(value if isinstance(value, (int, Decimal)) else Decimal(str(value)))


def _line(product: dict[str, Any]) -> Line:
    return Line(product["productId"], product["quantity"], _cents(product["price"]), 0, product.get("sellerId"))


def _stock(products: list[dict[str, Any]]) -> tuple[tuple[str, int], ...]:
    return tuple((p["productId"], p["quantity"]) for p in products)


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
