"""Commands for the pure-core tests."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.domain import AcceptPayment, Actor, Line, RefundOrder, RefundProduct, UpdateOrder
from shared.domain.model import Status
from shared.ids import order_id_for_payment

AT = datetime(2030, 1, 1, tzinfo=UTC)
OWNER = Actor("user-1")
STRANGER = Actor("user-2")
ADMIN = Actor("admin-1", ("admin",))


def pay(payment_id: str = "pay-1", lines: tuple[Line, ...] | None = None, total: int | None = None) -> AcceptPayment:
    lines = lines or (Line("apple", 3, 125), Line("pear", 2, 1000))
    return AcceptPayment(
        order_id=order_id_for_payment(payment_id),
        payment_id=payment_id,
        user_id="user-1",
        checkout_id="checkout-1",
        basket_id="basket-1",
        lines=lines,
        address="1 Main St",
        is_gift=False,
        total_price=sum(line.quantity * line.price for line in lines) if total is None else total,
        card_number="************4242",
        status=Status.PENDING,
        at=AT,
    )


ORDER_ID = order_id_for_payment("pay-1")


def refund_all(request_id: str = "r-all", by: Actor | None = OWNER) -> RefundOrder:
    return RefundOrder(request_id, ORDER_ID, by, AT)


def refund_some(request_id: str, product: str, quantity: int, by: Actor | None = OWNER) -> RefundProduct:
    return RefundProduct(request_id, ORDER_ID, product, quantity, by, AT)


def change(request_id: str, by: Actor | None = OWNER, expected: int | None = None, **changes: object) -> UpdateOrder:
    return UpdateOrder(request_id, ORDER_ID, tuple(sorted(changes.items())), by, AT, expected)
