"""Two API processes against one dataflow: each answers its own waiters, money stays exact."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp

from devkit.sandbox import JWT_SECRET, Stack
from devkit.servers import free_port
from http_api.auth import issue_token
from shared.ids import order_id_for_payment
from tests.flowkit import payment

OWNER = {"Authorization": f"Bearer {issue_token(JWT_SECRET, 'user-1', [])}"}
UNITS = 10
REFUNDS = 30


async def ready(session: aiohttp.ClientSession, base: str) -> None:
    for _ in range(300):
        try:
            async with session.get(f"{base}/health/ready") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{base} not ready")


async def test_refunds_through_two_api_processes_are_each_answered_and_never_over_refund(stack: Stack):
    stack.start_flow()
    bases = []
    for _ in range(2):
        port = free_port()
        stack.start_api(port)
        bases.append(f"http://127.0.0.1:{port}")
    order_id = order_id_for_payment("two-apis")
    line = [{"productId": "apple", "quantity": UNITS, "price": 1}]
    stack.produce(
        stack.topics.payment_accepted.name, [("two-apis", payment("two-apis", products=line, totalPrice=UNITS))]
    )
    await asyncio.to_thread(stack.wait_for, lambda: stack.orders.find_one({"_id": order_id}) is not None)

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(ready(session, base) for base in bases))

        async def refund(i: int) -> tuple[str, int]:
            base = bases[i % 2]
            url = f"{base}/api/order/{order_id}/refund-product?timeout=20"
            async with session.post(url, json={"productId": "apple", "quantity": 1}, headers=OWNER) as response:
                return base, response.status

        results = await asyncio.gather(*(refund(i) for i in range(REFUNDS)))

    # Every request, through either process, got its outcome: no 202, no 5xx.
    assert Counter(status for _, status in results) == {200: UNITS, 409: REFUNDS - UNITS}
    stored = stack.orders.find_one({"_id": order_id})
    assert stored["products"][0]["refundedQuantity"] == UNITS
    assert stored["refundedAmount"].to_decimal() == UNITS
