"""The order state machine: ``decide`` what happens, ``apply`` what happened.

A payment already seen (its order exists) yields the OrderCreated it yielded the
first time. A request already decided is known by its recorded outcome, which the
caller looks up (the flow keeps every request's record, for the life of the order)
and hands to ``handle``: it is repeated, with the same ids, and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from shared.domain.commands import (
    AcceptPayment,
    Command,
    RefundOrder,
    RefundProduct,
    RejectInvalid,
    Request,
    UpdateOrder,
)
from shared.domain.events import (
    Event,
    OrderCreated,
    OrderRefunded,
    OrderUpdated,
    ProductRefunded,
    RequestRejected,
)
from shared.domain.model import (
    STATUS_MOVES,
    TERMINAL,
    Line,
    Order,
    Origin,
    Status,
    all_refunded,
    any_refunded,
)
from shared.ids import event_id


def decide(order: Order | None, command: Command) -> list[Event]:
    if isinstance(command, AcceptPayment):
        return _decide_payment(order, command)
    if isinstance(command, RejectInvalid):
        return [_reject(order, command, "invalid-request", command.error)]
    if order is None:
        return [_reject(order, command, "order-not-found")]
    return [_DECIDERS[type(command)](order, command)]


def apply(order: Order | None, event: Event) -> Order:
    if isinstance(event, OrderCreated):
        return order if order is not None else _created(event)
    if order is None:
        raise ValueError(f"{type(event).__name__} needs an order")
    return _applied(order, event)


def apply_all(order: Order | None, events: Iterable[Event]) -> Order | None:
    for event in events:
        if isinstance(event, RequestRejected) and order is None:
            continue
        order = apply(order, event)
    return order


def handle(order: Order | None, command: Command, recorded: Event | None = None) -> tuple[Order | None, list[Event]]:
    """The order after ``command`` and the events it yields. ``recorded``: the outcome
    the request already had, if it was decided before; it is repeated, nothing changes."""
    if recorded is not None:
        return order, [recorded]
    events = decide(order, command)
    return apply_all(order, events), events


# --- decisions -------------------------------------------------------------


def created_event(order: Order) -> OrderCreated:
    """The OrderCreated of an existing order, identical to the one first emitted."""
    origin = order.origin or Origin(order.address, order.is_gift, order.status)
    return _order_created(order, order.id, order.created_at, origin)


def created_event_id(payment_id: str) -> str:
    return event_id(payment_id, "created")


def _decide_payment(order: Order | None, cmd: AcceptPayment) -> list[Event]:
    if order is not None:
        return [created_event(order)]
    return [_order_created(cmd, cmd.order_id, cmd.at, Origin(cmd.address, cmd.is_gift, cmd.status))]


def _order_created(source: Order | AcceptPayment, order_id: str, at: str, origin: Origin) -> OrderCreated:
    """From a payment, or from the order it made: both carry the payment's fields."""
    # Positional, in field order (each argument names its field): on the hot path,
    # keywords cost a NamedTuple about as much again as the construction itself.
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


def _reject(order: Order | None, cmd: Request, reason: str, detail: str = "") -> RequestRejected:
    return RequestRejected(
        event_id=event_id(cmd.request_id, "outcome"),
        order_id=cmd.order_id,
        version=order.version if order else 0,
        occurred_at=cmd.at,
        request_id=cmd.request_id,
        reason=reason,
        detail=detail,
    )


def _refund_blocker(order: Order) -> str | None:
    if order.status is Status.CANCELLED:
        return "invalid-transition"
    if order.status is Status.REFUNDED or order.refunded:
        return "already-refunded"
    return None


def _decide_refund_order(order: Order, cmd: RefundOrder) -> Event:
    if not order.owned_by(cmd.requested_by):
        return _reject(order, cmd, "forbidden")
    blocker = _refund_blocker(order)
    if blocker is None and order.any_refunded:
        blocker = "already-refunded"
    if blocker:
        return _reject(order, cmd, blocker)
    return OrderRefunded(
        event_id=event_id(cmd.request_id, "outcome"),
        order_id=order.id,
        version=order.version + 1,
        occurred_at=cmd.at,
        request_id=cmd.request_id,
        amount=order.total_price - order.refunded_amount,
        restocked=_remaining_stock(order),
    )


def _decide_refund_product(order: Order, cmd: RefundProduct) -> Event:
    if not order.owned_by(cmd.requested_by):
        return _reject(order, cmd, "forbidden")
    blocker = _refund_blocker(order)
    if blocker:
        return _reject(order, cmd, blocker)
    plan = _plan_refund(order.lines, cmd.product_id, cmd.quantity)
    if plan is None:
        return _reject(order, cmd, "product-not-found")
    available, cost, units_left = plan
    if cmd.quantity > available:
        return _reject(order, cmd, "quantity-exceeds-remaining", f"{available} of {cmd.product_id} left")
    left = order.total_price - order.refunded_amount
    # The refund that empties the order returns all that is left, so a fully refunded
    # order has returned exactly its total; before that, never more than what is left.
    amount = left if cmd.quantity == units_left else min(cost, left)
    return ProductRefunded(
        event_id(cmd.request_id, "outcome"),
        order.id,
        order.version + 1,
        cmd.at,
        cmd.request_id,
        cmd.product_id,
        cmd.quantity,
        amount,
    )


def _decide_update(order: Order, cmd: UpdateOrder) -> Event:
    changes = dict(cmd.changes)
    actor = cmd.requested_by
    if not order.owned_by(actor) or ("status" in changes and actor is not None and not actor.is_admin):
        return _reject(order, cmd, "forbidden")
    if cmd.expected_version is not None and cmd.expected_version != order.version:
        return _reject(order, cmd, "version-conflict", f"order is at version {order.version}")
    if order.status in TERMINAL:
        return _reject(order, cmd, "invalid-transition", f"order is {order.status}")
    effective = {k: v for k, v in changes.items() if _current(order, k) != v}
    target = effective.get("status")
    if target is not None and target not in STATUS_MOVES.get(order.status, frozenset()):
        return _reject(order, cmd, "invalid-transition", f"{order.status} cannot become {target}")
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


_DECIDERS = {
    RefundOrder: _decide_refund_order,
    RefundProduct: _decide_refund_product,
    UpdateOrder: _decide_update,
}

_FIELDS = {"address": "address", "isGift": "is_gift", "status": "status"}


def _current(order: Order, change: str) -> object:
    return getattr(order, _FIELDS[change])


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


# --- applying --------------------------------------------------------------


def _created(e: OrderCreated) -> Order:
    return Order(  # positional, as in _order_created
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


# Each returns the fields an event changes; ``apply`` makes one copy of the order with them.


def _rejected_changes(event: RequestRejected, order: Order) -> dict[str, object]:
    return {}


def _order_refunded_changes(event: OrderRefunded, order: Order) -> dict[str, object]:
    return _refund_everything(order, event.amount, Status.REFUNDED)


def _product_refunded_changes(event: ProductRefunded, order: Order) -> dict[str, object]:
    lines = _take_from_lines(order.lines, event.product_id, event.quantity)
    done = all_refunded(lines)
    return {
        "lines": lines,
        "refunded_amount": order.refunded_amount + event.amount,
        "status": Status.REFUNDED if done else Status.PARTIALLY_REFUNDED,
    }


def _updated_changes(event: OrderUpdated, order: Order) -> dict[str, object]:
    changes = dict(event.changes)
    refund = (
        _refund_everything(order, event.amount, Status.CANCELLED) if changes.get("status") == Status.CANCELLED else {}
    )
    return {**refund, **{_FIELDS[k]: Status(v) if k == "status" else v for k, v in changes.items()}}


_CHANGES: dict[type, Callable[..., dict[str, object]]] = {
    RequestRejected: _rejected_changes,
    OrderRefunded: _order_refunded_changes,
    ProductRefunded: _product_refunded_changes,
    OrderUpdated: _updated_changes,
}


def _refund_everything(order: Order, amount: int, status: Status) -> dict[str, object]:
    return {
        "lines": tuple(line.with_refunded(line.quantity) for line in order.lines),
        "refunded_amount": order.refunded_amount + amount,
        "status": status,
    }


_ORDER_POSITION = {name: i for i, name in enumerate(Order._fields)}


def _evolve(order: Order, changes: dict[str, object]) -> Order:
    """``Order._replace``, at a fraction of its cost: it is the core's hot path."""
    values = list(order)
    for name, value in changes.items():
        values[_ORDER_POSITION[name]] = value
    return Order._make(values)


def _applied(order: Order, event: Event) -> Order:
    """The order after ``event``; every decided request moves its revision on."""
    changer = _CHANGES.get(type(event))
    if changer is None:
        raise TypeError(f"cannot apply {type(event).__name__}")
    changes = changer(event, order)
    if changes:
        changes["version"] = event.version
        changes["updated_at"] = event.occurred_at
    changes["revision"] = order.revision + 1
    return _evolve(order, changes)
