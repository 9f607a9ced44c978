"""Events: what happened to an order. Plain frozen values with deterministic ids."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.model import Line


@dataclass(frozen=True, slots=True)
class OrderCreated:
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
    status: str
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class OrderRefunded:
    event_id: str
    order_id: str
    version: int
    occurred_at: str
    request_id: str
    amount: int
    restocked: tuple[tuple[str, int], ...]  # (productId, quantity) put back


@dataclass(frozen=True, slots=True)
class ProductRefunded:
    event_id: str
    order_id: str
    version: int
    occurred_at: str
    request_id: str
    product_id: str
    quantity: int
    amount: int


@dataclass(frozen=True, slots=True)
class OrderUpdated:
    event_id: str
    order_id: str
    version: int
    occurred_at: str
    request_id: str
    changes: tuple[tuple[str, object], ...]
    # A cancellation gives back what is not yet refunded, like a full refund of the rest.
    amount: int = 0
    restocked: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class RequestRejected:
    event_id: str
    order_id: str
    version: int
    occurred_at: str
    request_id: str
    reason: str
    detail: str = ""


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
