"""Commands: what upstream asks the order to do. Plain frozen values."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from shared.domain.model import Actor, Line, Status


class AcceptPayment(NamedTuple):
    order_id: str
    payment_id: str
    user_id: str
    checkout_id: str
    basket_id: str
    lines: tuple[Line, ...]
    address: str
    is_gift: bool
    total_price: int
    card_number: str  # already masked
    status: Status
    at: datetime


class RefundOrder(NamedTuple):
    request_id: str
    order_id: str
    requested_by: Actor | None
    at: datetime
    reason: str | None = None
    seen_version: int | None = None  # the order's version its requester saw (see ``handling``)


class RefundProduct(NamedTuple):
    request_id: str
    order_id: str
    product_id: str
    quantity: int
    requested_by: Actor | None
    at: datetime
    reason: str | None = None
    seen_version: int | None = None


class UpdateOrder(NamedTuple):
    request_id: str
    order_id: str
    # (Order field, value) pairs: only address (str), is_gift (bool) and status (Status).
    changes: tuple[tuple[str, object], ...]
    requested_by: Actor | None
    at: datetime
    expected_version: int | None = None
    seen_version: int | None = None


class RejectInvalid(NamedTuple):
    """A request whose ids could be read but whose content is invalid."""

    request_id: str
    order_id: str
    error: str
    at: datetime


Request = RefundOrder | RefundProduct | UpdateOrder | RejectInvalid
Command = AcceptPayment | Request
