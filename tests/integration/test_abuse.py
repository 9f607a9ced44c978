"""The API's defences through the real stack: API processes, Kafka, the flow, SecantusDB."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from devkit.sandbox import JWT_SECRET, Stack
from devkit.servers import free_port
from http_api.auth import issue_token
from shared.ids import order_id_for_payment
from tests.flowkit import payment
from tests.integration.test_api_processes import ready

COOKIE = {"Cookie": f"token={issue_token(JWT_SECRET, 'user-1', [])}"}
BEARER = {"Authorization": f"Bearer {issue_token(JWT_SECRET, 'user-1', [])}"}
OTHER = {"Authorization": f"Bearer {issue_token(JWT_SECRET, 'user-2', [])}"}
CROSS_SITE = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


@pytest.fixture
def limited(servers, tmp_path: Path) -> Iterator[Stack]:
    """A stack whose two API processes share a limit of 5/s burst 10 per user."""
    env = {"RATE_LIMIT_MUTATIONS": "5/s burst 10", "RATE_LIMIT_PROCESSES": "2"}
    s = Stack(servers.kafka_uri, servers.mongo_uri, tmp_path, env=env)
    try:
        yield s
    finally:
        s.close()


async def started_apis(stack: Stack, count: int) -> list[str]:
    stack.start_flow()
    bases = []
    for _ in range(count):
        port = free_port()
        stack.start_api(port)
        bases.append(f"http://127.0.0.1:{port}/api/order")
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(ready(session, base.removesuffix("/api/order")) for base in bases))
    return bases


async def placed(stack: Stack, user: str, payment_id: str) -> str:
    line = [{"productId": "apple", "quantity": 500, "price": 1}]
    body = payment(payment_id, user=user, products=line, totalPrice=500)
    stack.produce(stack.topics.payment_accepted.name, [(payment_id, body)])
    order_id = order_id_for_payment(payment_id)
    await asyncio.to_thread(stack.wait_for, lambda: stack.orders.find_one({"_id": order_id}) is not None)
    return order_id


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def status_of(session: aiohttp.ClientSession, method: str, url: str, headers: dict, **kw) -> int:
    async with session.request(method, url, headers=headers, **kw) as response:
        return response.status


async def test_cross_site_cookie_refunds_and_changes_are_403_and_change_nothing(stack: Stack, session):
    (base,) = await started_apis(stack, 1)
    order_id = await placed(stack, "user-1", "csrf")
    forged = [
        ("GET", f"{base}/refundOrder/{order_id}", {}),
        ("GET", f"{base}/refundProductFromOrder/{order_id}?productId=apple&quantity=1", {}),
        ("POST", f"{base}/{order_id}/refund", {}),
        ("POST", f"{base}/{order_id}/refund-product", {"json": {"productId": "apple", "quantity": 1}}),
        ("PATCH", f"{base}/{order_id}", {"json": {"address": "1 Attacker Way"}}),
    ]
    statuses = [await status_of(session, m, url, {**COOKIE, **CROSS_SITE}, **kw) for m, url, kw in forged]
    assert statuses == [403] * 5
    # A request of the order's own is decided after anything published before it (one partition, in order).
    after = await status_of(session, "PATCH", f"{base}/{order_id}", {**COOKIE, **SAME_ORIGIN}, json={"isGift": True})
    assert after == 200
    doc = stack.orders.find_one({"_id": order_id})
    assert (doc["version"], doc["address"], doc["refundedAmount"].to_decimal()) == (2, "1 Main St", 0)


async def test_same_origin_cookie_and_cross_site_bearer_refunds_pass(stack: Stack, session):
    (base,) = await started_apis(stack, 1)
    order_id = await placed(stack, "user-1", "allowed")
    url = f"{base}/refundProductFromOrder/{order_id}?productId=apple&quantity=1"
    assert await status_of(session, "GET", url, {**COOKIE, **SAME_ORIGIN}) == 200
    assert await status_of(session, "GET", url, {**BEARER, **CROSS_SITE}) == 200


async def test_a_burst_from_one_user_is_limited_while_another_user_passes(stack: Stack, session):
    (base,) = await started_apis(stack, 1)
    mine, theirs = await placed(stack, "user-1", "burst-1"), await placed(stack, "user-2", "burst-2")

    async def change(order_id: str, headers: dict, i: int) -> tuple[int, str | None]:
        url = f"{base}/{order_id}?timeout=20"
        async with session.patch(url, json={"address": f"{i} Road"}, headers=headers) as response:
            return response.status, response.headers.get("Retry-After")

    started = time.monotonic()
    burst = asyncio.gather(*(change(mine, BEARER, i) for i in range(100)))
    others = asyncio.gather(*(change(theirs, OTHER, i) for i in range(10)))
    burst_results, other_results = await asyncio.gather(burst, others)
    elapsed = time.monotonic() - started
    refused = [retry for status, retry in burst_results if status == 429]
    assert len(refused) >= 100 - (20 + 10 * elapsed + 1)
    assert all(retry is not None and int(retry) >= 1 for retry in refused)
    assert [status for status, _ in other_results] == [200] * 10


async def test_two_api_processes_together_hold_the_limit(limited: Stack, session):
    bases = await started_apis(limited, 2)
    order_id = await placed(limited, "user-1", "two")

    async def refund(i: int) -> int:
        url = f"{bases[i % 2]}/{order_id}/refund-product?timeout=20"
        return await status_of(session, "POST", url, BEARER, json={"productId": "apple", "quantity": 1})

    started = time.monotonic()
    statuses = await asyncio.gather(*(refund(i) for i in range(60)))
    elapsed = time.monotonic() - started
    admitted = sum(status != 429 for status in statuses)
    assert 10 <= admitted <= 10 + 5 * elapsed + 2


@pytest.fixture
def two_keys_a_day(servers, tmp_path: Path) -> Iterator[Stack]:
    s = Stack(servers.kafka_uri, servers.mongo_uri, tmp_path, env={"IDEMPOTENCY_KEYS_PER_DAY": "2"})
    try:
        yield s
    finally:
        s.close()


async def test_a_user_s_new_idempotency_keys_are_capped_while_old_ones_answer(two_keys_a_day: Stack, session):
    (base,) = await started_apis(two_keys_a_day, 1)
    order_id = await placed(two_keys_a_day, "user-1", "keys")
    url = f"{base}/{order_id}/refund-product"
    body = {"productId": "apple", "quantity": 1}

    async def keyed(key: str) -> int:
        return await status_of(session, "POST", url, {**BEARER, "Idempotency-Key": key}, json=body)

    assert [await keyed(k) for k in ("k-1", "k-2", "k-3", "k-1")] == [200, 200, 429, 200]
    assert two_keys_a_day.orders.find_one({"_id": order_id})["products"][0]["refundedQuantity"] == 2
