"""Applying: the order after an event (see ``handling``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from shared.domain.events import (
    Event,
    OrderCreated,
    OrderRefunded,
    OrderUpdated,
    ProductRefunded,
    RequestRejected,
)
from shared.domain.model import Line, Order, Origin, Status, all_refunded


def apply(order: Order | None, event: Event) -> Order:
    if isinstance(event, OrderCreated):
        return order if order is not None else _created(event)
    if order is None:
        raise ValueError(f"{type(event).__name__} needs an order")
    applier = _APPLIERS.get(type(event))
    if applier is None:
        raise TypeError(f"cannot apply {type(event).__name__}")
    return applier(order, event)


def apply_all(order: Order | None, events: Iterable[Event]) -> Order | None:
    for event in events:
        if isinstance(event, RequestRejected) and order is None:
            continue
        order = apply(order, event)
    return order


def _created(e: OrderCreated) -> Order:
    # Positional, in field order: every order is made here (measured:
    # docs/benchmarks.md, "Speed choices in the code").
    return Order(
        e.order_id,
        e.user_id,
        e.checkout_id,
        e.basket_id,
        e.payment_id,
        e.lines,
        e.address,
        e.is_gift,
        e.status,
        e.total_price,
        e.card_number,
        e.occurred_at,  # created_at
        e.occurred_at,  # updated_at
        0,  # refunded_amount
        1,  # version
        1,  # revision
        Origin(e.address, e.is_gift, e.status),
    )


def _moved(order: Order, event: Event, **changes: object) -> Order:
    """The order with ``changes`` at the event's version and time; every decided request,
    a rejected one too, moves the revision on. (``Order._replace`` would do; this is
    faster, and every request's order is made here: docs/benchmarks.md, "Speed choices in the code".)"""
    values: list[object] = list(order)
    if changes:
        for name, value in changes.items():
            values[_POSITION[name]] = value
        values[_VERSION] = event.version
        values[_UPDATED_AT] = event.occurred_at
    values[_REVISION] = order.revision + 1
    return Order._make(values)


_POSITION = {name: i for i, name in enumerate(Order._fields)}
_VERSION, _UPDATED_AT, _REVISION = _POSITION["version"], _POSITION["updated_at"], _POSITION["revision"]


def _rejected(order: Order, event: RequestRejected) -> Order:
    return _moved(order, event) if event.recorded else order


def _order_refunded(order: Order, event: OrderRefunded) -> Order:
    return _moved(order, event, **_everything_refunded(order, event.amount, Status.REFUNDED))


def _product_refunded(order: Order, event: ProductRefunded) -> Order:
    lines = _take_from_lines(order.lines, event.product_id, event.quantity)
    status = Status.REFUNDED if all_refunded(lines) else Status.PARTIALLY_REFUNDED
    return _moved(order, event, lines=lines, refunded_amount=order.refunded_amount + event.amount, status=status)


def _updated(order: Order, event: OrderUpdated) -> Order:
    changes = dict(event.changes)
    if changes.get("status") == Status.CANCELLED:
        changes.update(_everything_refunded(order, event.amount, Status.CANCELLED))
    return _moved(order, event, **changes)


_APPLIERS: dict[type, Callable[[Order, Any], Order]] = {
    RequestRejected: _rejected,
    OrderRefunded: _order_refunded,
    ProductRefunded: _product_refunded,
    OrderUpdated: _updated,
}


def _everything_refunded(order: Order, amount: int, status: Status) -> dict[str, object]:
    return {
        "lines": tuple(line.with_refunded(line.quantity) for line in order.lines),
        "refunded_amount": order.refunded_amount + amount,
        "status": status,
    }


def _take_from_lines(lines: tuple[Line, ...], product_id: str, quantity: int) -> tuple[Line, ...]:
    """Refund ``quantity`` units of a product, line by line in order."""
    out = []
    for line in lines:
        if quantity and line.product_id == product_id:
            take = min(line.remaining, quantity)
            if take:
                quantity -= take
                line = line.with_refunded(line.refunded_quantity + take)
        out.append(line)
    return tuple(out)
