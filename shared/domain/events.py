"""Events: what happened to an order. Plain frozen values with deterministic ids."""

from __future__ import annotations

from typing import NamedTuple

from shared.domain.model import Line, Status


class OrderCreated(NamedTuple):
    event_id: str
    order_id: str
    version: int
    occurred_at: str
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
    occurred_at: str
    request_id: str
    amount: int
    restocked: tuple[tuple[str, int], ...]  # (productId, quantity) put back


class ProductRefunded(NamedTuple):
    event_id: str
    order_id: str
    version: int
    occurred_at: str
    request_id: str
    product_id: str
    quantity: int
    amount: int


class OrderUpdated(NamedTuple):
    event_id: str
    order_id: str
    version: int
    occurred_at: str
    request_id: str
    changes: tuple[tuple[str, object], ...]
    # A cancellation gives back what is not yet refunded, like a full refund of the rest.
    amount: int = 0
    restocked: tuple[tuple[str, int], ...] = ()


class RequestRejected(NamedTuple):
    event_id: str
    order_id: str
    version: int
    occurred_at: str
    request_id: str
    reason: str
    detail: str = ""
    # False when the order stays as it was, revision included (``machine``: a frozen
    # order's rejection no one waits on): no record, and nothing for ``apply`` to do.
    recorded: bool = True


Event = OrderCreated | OrderRefunded | ProductRefunded | OrderUpdated | RequestRejected
Outcome = OrderRefunded | ProductRefunded | OrderUpdated | RequestRejected

REJECTION_REASONS = frozenset(
    {
        "order-not-found",
        "already-refunded",
        "product-not-found",
        "quantity-exceeds-remaining",
        "invalid-transition",
        "version-conflict",
        "forbidden",
        "invalid-request",
    }
)
