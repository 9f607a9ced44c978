"""Commands: what upstream asks the order to do. Plain frozen values."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple, Protocol

from shared.domain.model import Actor, Line, Status

if TYPE_CHECKING:
    from typing_extensions import TypeIs


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
    requested_by: Actor | None = None  # not read: its content may not be
    seen_version: int | None = None


class Request(Protocol):
    """What every command but a payment carries, whatever its kind (the registry,
    ``shared.schemas.request_kinds``, may add kinds): an id, so its decision is
    recorded and repeated; who asked; and the order's version they saw."""

    @property
    def request_id(self) -> str: ...

    @property
    def order_id(self) -> str: ...

    @property
    def requested_by(self) -> Actor | None: ...

    @property
    def at(self) -> datetime: ...

    @property
    def seen_version(self) -> int | None: ...


Command = AcceptPayment | Request


def is_payment(command: Command) -> TypeIs[AcceptPayment]:
    """The one answer to "payment or request?": a payment makes its order, which is its
    record; every other command is a ``Request``."""
    return isinstance(command, AcceptPayment)


def request_of(command: Command) -> Request | None:
    """``command`` as a request; None for a payment."""
    return None if is_payment(command) else command
