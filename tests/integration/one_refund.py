"""A paid order and one refund through the API, for tests about what surrounds them."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from devkit.sandbox import JWT_SECRET, Stack
from http_api.auth import issue_token
from shared.ids import order_id_for_payment
from tests.flowkit import payment
from tests.integration.test_api_processes import ready

OWNER = {"Authorization": f"Bearer {issue_token(JWT_SECRET, 'user-1', [])}"}


@dataclass(frozen=True)
class Refunded:
    order_id: str
    status: int
    request_id: str | None  # the API's X-Request-Id
    body: str


async def pay_then_refund(stack: Stack, api_port: int, payment_id: str) -> Refunded:
    """Two apples paid (through Kafka), one refunded (through the API at ``api_port``)."""
    order_id = order_id_for_payment(payment_id)
    line = [{"productId": "apple", "quantity": 2, "price": 5}]
    stack.produce(stack.topics.payment_accepted.name, [(payment_id, payment(payment_id, products=line, totalPrice=10))])
    stack.wait_for(lambda: stack.orders.find_one({"_id": order_id}) is not None, what="the order stored")
    base = f"http://127.0.0.1:{api_port}"
    async with aiohttp.ClientSession() as session:
        await ready(session, base)
        url = f"{base}/api/order/{order_id}/refund-product?timeout=20"
        async with session.post(url, json={"productId": "apple", "quantity": 1}, headers=OWNER) as response:
            return Refunded(order_id, response.status, response.headers.get("X-Request-Id"), await response.text())
