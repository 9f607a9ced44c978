"""Sample payloads of the input topics, for tests, benchmarks and demos."""

from __future__ import annotations

from typing import Any


def payment(payment_id: str = "pay-1", user: str = "user-1", products: list | None = None, **extra: Any) -> dict:
    body = {
        "paymentId": payment_id,
        "userId": user,
        "checkoutId": f"checkout-{payment_id}",
        "basketId": f"basket-{payment_id}",
        "products": products
        if products is not None
        else [
            {"productId": "apple", "quantity": 3, "price": 1.25},
            {"productId": "pear", "quantity": 2, "price": 10},
        ],
        "address": "1 Main St",
        "totalPrice": 23.75,
        "cardNumber": "4242424242424242",
    }
    body.update(extra)
    return body


def refund(
    request_id: str, order_id: str, product: str | None = None, quantity: int | None = None, **extra: Any
) -> dict:
    body: dict[str, Any] = {
        "requestId": request_id,
        "orderId": order_id,
        "kind": "order" if product is None else "product",
    }
    if product is not None:
        body.update(productId=product, quantity=quantity)
    body.update(extra)
    return body


def update(request_id: str, order_id: str, changes: dict, **extra: Any) -> dict:
    return {"requestId": request_id, "orderId": order_id, "changes": changes, **extra}
