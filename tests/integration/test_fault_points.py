"""Each named fault point (``shared.faults``) fired on the real stack: the flow killed
after its orders' write, after its records' write, after its produce and before its
resume point is stored; the API killed between an Idempotency-Key's claim and the
publish. After the restart the request is applied once, and its retry, with the same
key, is answered with its own outcome."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import aiohttp

from devkit.sandbox import JWT_SECRET, Stack
from devkit.servers import free_port
from http_api.auth import issue_token
from shared.ids import order_id_for_payment
from shared.storage import KEYS_COLLECTION
from tests.flowkit import payment
from tests.integration.test_api_processes import ready

OWNER = {"Authorization": f"Bearer {issue_token(JWT_SECRET, 'user-1', [])}"}
FLOW_POINTS = ("after-orders", "after-records", "after-produce", "before-commit")
ONE_APPLE = {"productId": "apple", "quantity": 1}


def armed(point: str, marker: Path) -> dict[str, str]:
    return {"FAULT_POINTS": f"{point}=kill:{marker}"}


async def orders(stack: Stack, names: list[str]) -> list[str]:
    stack.produce(stack.topics.payment_accepted.name, [(n, payment(n)) for n in names])
    wanted = [order_id_for_payment(n) for n in names]
    await asyncio.to_thread(
        stack.wait_for, lambda: stack.orders.count_documents({"_id": {"$in": wanted}}) == len(wanted), 90, "orders"
    )
    return wanted


async def refund_apple(session: aiohttp.ClientSession, base: str, order_id: str, key: str) -> tuple[int, str | None]:
    """(status, request id); status 0 for a dropped connection."""
    url = f"{base}/api/order/{order_id}/refund-product?timeout=3"
    try:
        async with session.post(url, json=ONE_APPLE, headers={**OWNER, "Idempotency-Key": key}) as response:
            body = await response.json(content_type=None)
            return response.status, response.headers.get("X-Request-Id") or body.get("requestId")
    except (TimeoutError, aiohttp.ClientConnectionError):
        return 0, None


async def final_answer(session: aiohttp.ClientSession, base: str, order_id: str, key: str) -> tuple[int, str | None]:
    """Retries, as a client does, until the answer is final (not 202, 5xx or dropped)."""
    for _ in range(40):
        status, rid = await refund_apple(session, base, order_id, key)
        if status in (200, 409):
            return status, rid
        await asyncio.sleep(0.5)
    raise AssertionError(f"no final answer for {key}: last {status}")


def dies(proc, marker: Path) -> None:
    proc.wait(120)
    assert marker.exists(), "the process died, but not at its fault point"
    assert proc.returncode == -signal.SIGKILL


def applied_once(stack: Stack, order_id: str, rid: str) -> None:
    doc = stack.orders.find_one({"_id": order_id})
    apples = next(line for line in doc["products"] if line["productId"] == "apple")
    assert apples["refundedQuantity"] == 1, doc["products"]
    pending = [r for r in doc.get("pending", []) if r["requestId"] == rid]
    stored = stack.records.count_documents({"requestId": rid}) + len(
        [r for r in pending if not stack.records.find_one({"_id": r["_id"]})]
    )
    assert stored == 1


async def test_the_flow_killed_at_each_fault_point_applies_the_request_once_and_answers_its_retry(
    stack: Stack, tmp_path: Path
):
    recovery = tmp_path / "recovery"
    flow = stack.start_flow(recovery=recovery)
    port = free_port()
    stack.start_api(port)
    base = f"http://127.0.0.1:{port}"
    order_ids = await orders(stack, [f"point-{p}" for p in FLOW_POINTS])
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
        await ready(session, base)
        for point, order_id in zip(FLOW_POINTS, order_ids, strict=True):
            stack.kill_flow(flow)
            marker = tmp_path / f"fired-{point}"
            flow = stack.start_flow(recovery=recovery, env=armed(point, marker))
            stack.stopped.add(flow.pid)  # it is meant to die
            first, first_rid = await refund_apple(session, base, order_id, key=point)
            await asyncio.to_thread(dies, flow, marker)
            flow = stack.start_flow(recovery=recovery)
            status, rid = await final_answer(session, base, order_id, key=point)
            assert status == 200, (point, first, status)
            assert first_rid in (None, rid), (point, first_rid, rid)
            applied_once(stack, order_id, rid)


async def test_the_api_killed_between_claiming_a_key_and_publishing_answers_the_retry_with_the_keys_request(
    stack: Stack, tmp_path: Path
):
    stack.start_flow()
    port = free_port()
    marker = tmp_path / "fired-api"
    api = stack.start_api(port, env=armed("api-after-claim", marker))
    stack.stopped.add(api.pid)
    base = f"http://127.0.0.1:{port}"
    (order_id,) = await orders(stack, ["api-point"])
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
        await ready(session, base)
        first, _ = await refund_apple(session, base, order_id, key="api-point")
        await asyncio.to_thread(dies, api, marker)
        assert first == 0, "the API answered though it was killed before publishing"
        stack.start_api(port)
        await ready(session, base)
        status, rid = await final_answer(session, base, order_id, key="api-point")
    (key,) = stack.mongo.get_default_database()[KEYS_COLLECTION].find({})
    assert status == 200
    assert rid == key["requestId"]
    applied_once(stack, order_id, rid)
