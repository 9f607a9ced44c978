"""Events: what happened to an order. Plain frozen values with deterministic ids."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from shared.domain.model import Line, Status


class OrderCreated(NamedTuple):
    event_id: str
    order_id: str
    version: int
    occurred_at: datetime
    payment_id: str
    user_id: str
    checkout_id: str
    basket_id: str
    lines: tuple[Line, ...]
    address: str
    is_gift: bool
    total_price: int
    card_number: str
    status: Status
    request_id: str | None = None


class OrderRefunded(NamedTuple):
    event_id: str
    order_id: str
    version: int
    occurred_at: datetime
    request_id: str
    amount: int
    restocked: tuple[tuple[str, int], ...]  # (productId, quantity) put back


class ProductRefunded(NamedTuple):
    event_id: str
    order_id: str
    version: int
    occurred_at: datetime
    request_id: str
    product_id: str
    quantity: int
    amount: int


class OrderUpdated(NamedTuple):
    event_id: str
    order_id: str
    version: int
    occurred_at: datetime
    request_id: str
    changes: tuple[tuple[str, object], ...]
    # A cancellation gives back what is not yet refunded, like a full refund of the rest.
    amount: int = 0
    restocked: tuple[tuple[str, int], ...] = ()


class RequestRejected(NamedTuple):
    event_id: str
    order_id: str
    version: int
    occurred_at: datetime
    request_id: str
    reason: str
    detail: str = ""
    # False when the order stays as it was, revision included (``handling``: a frozen
    # order's rejection no one waits on): no record, and nothing for ``apply`` to do.
    recorded: bool = True


Event = OrderCreated | OrderRefunded | ProductRefunded | OrderUpdated | RequestRejected


class Reason(StrEnum):
    """Why a request was rejected: the ``reason`` of ``RequestRejected`` (a str on the wire
    and in records; the HTTP status of each is ``http_api.mutations.REJECTION_STATUS``)."""

    ORDER_NOT_FOUND = "order-not-found"
    ALREADY_REFUNDED = "already-refunded"
    PRODUCT_NOT_FOUND = "product-not-found"
    QUANTITY_EXCEEDS_REMAINING = "quantity-exceeds-remaining"
    INVALID_TRANSITION = "invalid-transition"
    VERSION_CONFLICT = "version-conflict"
    FORBIDDEN = "forbidden"
    INVALID_REQUEST = "invalid-request"
    REFUND_WINDOW_CLOSED = "refund-window-closed"
