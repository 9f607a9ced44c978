"""Deciding: what a command makes happen to an order, as events (see ``handling``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from shared.domain.commands import (
    AcceptPayment,
    Command,
    RefundOrder,
    RefundProduct,
    RejectInvalid,
    Request,
    UpdateOrder,
    is_payment,
)
from shared.domain.events import (
    Event,
    OrderCreated,
    OrderRefunded,
    OrderUpdated,
    ProductRefunded,
    Reason,
    RequestRejected,
)
from shared.domain.model import STATUS_MOVES, TERMINAL, Line, Order, Origin, Status, any_refunded
from shared.domain.policy import NO_POLICY, Policy, refund_window_closed
from shared.ids import event_id


def decide(order: Order | None, command: Command, policy: Policy = NO_POLICY) -> list[Event]:
    if is_payment(command):
        return [_decide_payment(order, command)]
    if isinstance(command, RejectInvalid):
        return [_reject(order, command, Reason.INVALID_REQUEST, command.error)]
    if order is None:
        return [_reject(order, command, Reason.ORDER_NOT_FOUND)]
    return [_DECIDERS[type(command)](order, command, policy)]


def created_event(order: Order) -> OrderCreated:
    """The OrderCreated of an existing order, identical to the one first emitted."""
    origin = order.origin or Origin(order.address, order.is_gift, order.status)
    return _order_created(order, order.id, order.created_at, origin)


def created_event_id(payment_id: str) -> str:
    return event_id(payment_id, "created")


def _decide_payment(order: Order | None, cmd: AcceptPayment) -> OrderCreated:
    if order is not None:
        return created_event(order)
    return _order_created(cmd, cmd.order_id, cmd.at, Origin(cmd.address, cmd.is_gift, cmd.status))


def _order_created(source: Order | AcceptPayment, order_id: str, at: datetime, origin: Origin) -> OrderCreated:
    """From a payment, or from the order it made: both carry the payment's fields."""
    # Positional, in field order, like ``applying._created``: every payment makes one
    # (measured: docs/benchmarks.md, "Speed choices in the code").
    return OrderCreated(
        created_event_id(source.payment_id),
        order_id,
        1,  # version
        at,
        source.payment_id,
        source.user_id,
        source.checkout_id,
        source.basket_id,
        _unrefunded(source.lines),
        origin.address,
        origin.is_gift,
        source.total_price,
        source.card_number,
        origin.status,
    )


def _unrefunded(lines: tuple[Line, ...]) -> tuple[Line, ...]:
    if not any_refunded(lines):
        return lines
    return tuple(line.with_refunded(0) for line in lines)


def _reject(order: Order | None, cmd: Request, reason: Reason, detail: str = "") -> RequestRejected:
    return RequestRejected(
        event_id=event_id(cmd.request_id, "outcome"),
        order_id=cmd.order_id,
        version=order.version if order else 0,
        occurred_at=cmd.at,
        request_id=cmd.request_id,
        reason=reason,
        detail=detail,
    )


def _window_closed(order: Order, cmd: RefundOrder | RefundProduct, policy: Policy) -> RequestRejected:
    days = (policy.refund_window or timedelta(0)) / timedelta(days=1)
    return _reject(order, cmd, Reason.REFUND_WINDOW_CLOSED, f"refunds close {days:g} days after the order")


def _refund_blocker(order: Order) -> Reason | None:
    if order.status is Status.CANCELLED:
        return Reason.INVALID_TRANSITION
    if order.status is Status.REFUNDED or order.refunded:
        return Reason.ALREADY_REFUNDED
    return None


def _decide_refund_order(order: Order, cmd: RefundOrder, policy: Policy) -> Event:
    if not order.owned_by(cmd.requested_by):
        return _reject(order, cmd, Reason.FORBIDDEN)
    blocker = _refund_blocker(order)
    if blocker is None and order.any_refunded:
        blocker = Reason.ALREADY_REFUNDED
    if blocker:
        return _reject(order, cmd, blocker)
    if refund_window_closed(policy, order, cmd.at):
        return _window_closed(order, cmd, policy)
    return OrderRefunded(
        event_id=event_id(cmd.request_id, "outcome"),
        order_id=order.id,
        version=order.version + 1,
        occurred_at=cmd.at,
        request_id=cmd.request_id,
        amount=order.total_price - order.refunded_amount,
        restocked=_remaining_stock(order),
    )


def _decide_refund_product(order: Order, cmd: RefundProduct, policy: Policy) -> Event:
    if not order.owned_by(cmd.requested_by):
        return _reject(order, cmd, Reason.FORBIDDEN)
    blocker = _refund_blocker(order)
    if blocker:
        return _reject(order, cmd, blocker)
    if refund_window_closed(policy, order, cmd.at):
        return _window_closed(order, cmd, policy)
    plan = _plan_refund(order.lines, cmd.product_id, cmd.quantity)
    if plan is None:
        return _reject(order, cmd, Reason.PRODUCT_NOT_FOUND)
    available, cost, units_left = plan
    if cmd.quantity > available:
        return _reject(order, cmd, Reason.QUANTITY_EXCEEDS_REMAINING, f"{available} of {cmd.product_id} left")
    left = order.total_price - order.refunded_amount
    # The refund that empties the order returns all that is left, so a fully refunded
    # order has returned exactly its total; before that, never more than what is left.
    amount = left if cmd.quantity == units_left else min(cost, left)
    return ProductRefunded(
        event_id=event_id(cmd.request_id, "outcome"),
        order_id=order.id,
        version=order.version + 1,
        occurred_at=cmd.at,
        request_id=cmd.request_id,
        product_id=cmd.product_id,
        quantity=cmd.quantity,
        amount=amount,
    )


def _decide_update(order: Order, cmd: UpdateOrder, _policy: Policy) -> Event:
    changes = dict(cmd.changes)
    actor = cmd.requested_by
    if not order.owned_by(actor) or ("status" in changes and actor is not None and not actor.is_admin):
        return _reject(order, cmd, Reason.FORBIDDEN)
    if cmd.expected_version is not None and cmd.expected_version != order.version:
        return _reject(order, cmd, Reason.VERSION_CONFLICT, f"order is at version {order.version}")
    if order.status in TERMINAL:
        return _reject(order, cmd, Reason.INVALID_TRANSITION, f"order is {order.status}")
    effective = {name: value for name, value in changes.items() if getattr(order, name) != value}
    target = effective.get("status")
    if target is not None and target not in STATUS_MOVES.get(order.status, frozenset()):
        return _reject(order, cmd, Reason.INVALID_TRANSITION, f"{order.status} cannot become {target}")
    cancelling = target == Status.CANCELLED
    return OrderUpdated(
        event_id=event_id(cmd.request_id, "outcome"),
        order_id=order.id,
        version=order.version + (1 if effective else 0),
        occurred_at=cmd.at,
        request_id=cmd.request_id,
        changes=tuple(sorted(effective.items())),
        amount=order.total_price - order.refunded_amount if cancelling else 0,
        restocked=_remaining_stock(order) if cancelling else (),
    )


_DECIDERS: dict[type, Callable[[Order, Any, Policy], Event]] = {
    RefundOrder: _decide_refund_order,
    RefundProduct: _decide_refund_product,
    UpdateOrder: _decide_update,
}


def _remaining_stock(order: Order) -> tuple[tuple[str, int], ...]:
    return tuple((line.product_id, line.remaining) for line in order.lines if line.remaining)


def _plan_refund(lines: tuple[Line, ...], product_id: str, quantity: int) -> tuple[int, int, int] | None:
    """Units of the product left, what ``quantity`` of them cost taken line by line in
    order, and units of the whole order left; ``None`` when no line holds the product."""
    available = cost = units_left = 0
    found = False
    for line in lines:
        remaining = line.remaining
        units_left += remaining
        if line.product_id == product_id:
            found = True
            take = min(remaining, max(quantity - available, 0))
            available += remaining
            cost += take * line.price
    return (available, cost, units_left) if found else None
