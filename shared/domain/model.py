"""The order aggregate: immutable values, money in integer cents."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.domain.events import Event


class Status(StrEnum):
    PENDING = "Pending"
    PROCESSING = "Processing"
    SHIPPED = "Shipped"
    DELIVERED = "Delivered"
    CANCELLED = "Cancelled"
    PARTIALLY_REFUNDED = "PartiallyRefunded"
    REFUNDED = "Refunded"


# Moves an update request may make; refund statuses are reached only by refunds.
STATUS_MOVES: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.PROCESSING, Status.CANCELLED}),
    Status.PROCESSING: frozenset({Status.SHIPPED, Status.CANCELLED}),
    Status.SHIPPED: frozenset({Status.DELIVERED}),
}
TERMINAL = frozenset({Status.REFUNDED, Status.CANCELLED})
# Statuses an accepted payment may ask the order to start in.
INITIAL = frozenset({Status.PENDING, Status.PROCESSING, Status.SHIPPED, Status.DELIVERED})

# How many request outcomes an order remembers for replays (the oldest go first).
REQUEST_MEMORY = 100


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asked for a request; ``None`` in its place means a trusted service."""

    user_id: str
    roles: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


@dataclass(frozen=True, slots=True)
class Line:
    product_id: str
    quantity: int
    price: int  # unit price, cents
    refunded_quantity: int = 0
    seller_id: str | None = None

    @property
    def remaining(self) -> int:
        return self.quantity - self.refunded_quantity

    def with_refunded(self, refunded_quantity: int) -> Line:
        # Direct construction: several times faster than dataclasses.replace on a hot path.
        return Line(self.product_id, self.quantity, self.price, refunded_quantity, self.seller_id)


@dataclass(frozen=True, slots=True)
class Origin:
    """How the order started, so its OrderCreated can be repeated exactly."""

    address: str
    is_gift: bool
    status: Status


@dataclass(frozen=True, slots=True)
class RequestRecord:
    request_id: str
    outcome: Event


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    user_id: str
    checkout_id: str
    basket_id: str
    payment_id: str
    lines: tuple[Line, ...]
    address: str
    is_gift: bool
    status: Status
    total_price: int  # cents
    card_number: str  # masked
    created_at: str
    updated_at: str
    refunded_amount: int = 0  # cents
    version: int = 1
    # Grows with every stored change, recorded rejections included: writes are guarded by it.
    revision: int = 1
    requests: tuple[RequestRecord, ...] = field(default=())
    origin: Origin | None = None  # None: as the order is now

    @property
    def refunded(self) -> bool:
        return all(line.remaining == 0 for line in self.lines)

    @property
    def any_refunded(self) -> bool:
        return any(line.refunded_quantity for line in self.lines)

    def outcome_of(self, request_id: str) -> Event | None:
        for record in self.requests:
            if record.request_id == request_id:
                return record.outcome
        return None

    def owned_by(self, actor: Actor | None) -> bool:
        return actor is None or actor.is_admin or actor.user_id == self.user_id
