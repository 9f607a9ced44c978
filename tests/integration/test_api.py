"""The API through the real stack: API -> Kafka -> dataflow -> Mongo -> API."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest

from devkit.sandbox import JWT_SECRET, Stack
from http_api.app import create_app
from http_api.auth import issue_token
from shared.ids import order_id_for_payment
from tests.flowkit import payment

OWNER = {"Authorization": f"Bearer {issue_token(JWT_SECRET, 'user-1', [])}"}
OTHER = {"Authorization": f"Bearer {issue_token(JWT_SECRET, 'user-2', [])}"}
ADMIN = {"Authorization": f"Bearer {issue_token(JWT_SECRET, 'root', ['admin'])}"}


@pytest.fixture
async def api(aiohttp_client, stack: Stack):
    stack.start_flow()
    return await aiohttp_client(create_app(stack.settings))


async def orders_for(stack: Stack, count: int, user: str = "user-1", prefix: str = "pay") -> list[str]:
    ids = [f"{prefix}-{i}" for i in range(count)]
    stack.produce(stack.topics.payment_accepted.name, [(p, payment(p, user=user)) for p in ids])
    wanted = [order_id_for_payment(p) for p in ids]
    await asyncio.to_thread(
        stack.wait_for, lambda: stack.orders.count_documents({"_id": {"$in": wanted}}) == count, 60, "orders"
    )
    return wanted


async def test_another_users_order_is_refused_on_every_route(api, stack):
    (order_id,) = await orders_for(stack, 1)
    refund = await api.post(f"/api/order/{order_id}/refund", headers=OWNER)
    request_id = refund.headers["X-Request-Id"]
    calls = {
        "find": api.get("/api/order/find/user-1", headers=OTHER),
        "findOrder": api.get(f"/api/order/findOrder/{order_id}", headers=OTHER),
        "requests": api.get(f"/api/order/requests/{request_id}", headers=OTHER),
        "refundOrder": api.get(f"/api/order/refundOrder/{order_id}", headers=OTHER),
        "refundProduct": api.get(
            f"/api/order/refundProductFromOrder/{order_id}?productId=apple&quantity=1", headers=OTHER
        ),
        "refund": api.post(f"/api/order/{order_id}/refund", headers=OTHER),
        "refund-product": api.post(
            f"/api/order/{order_id}/refund-product", json={"productId": "pear", "quantity": 1}, headers=OTHER
        ),
        "patch": api.patch(f"/api/order/{order_id}", json={"address": "elsewhere"}, headers=OTHER),
    }
    for name, call in calls.items():
        response = await call
        text = await response.text()
        assert response.status in (403, 404), name
        assert "1 Main St" not in text, name
        assert "pay-0" not in text, name
    doc = stack.orders.find_one({"_id": order_id})
    assert doc["address"] == "1 Main St"
    assert doc["version"] == 2


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer garbage"},
        {"Authorization": "Bearer " + jwt.encode({"userId": "user-1"}, JWT_SECRET, algorithm="HS256")},
        {"Authorization": "Bearer " + jwt.encode({"userId": "user-1", "exp": 1}, JWT_SECRET, algorithm="HS256")},
        {
            "Authorization": "Bearer "
            + jwt.encode({"userId": "user-1", "exp": int(time.time()) + 60}, None, algorithm="none")
        },
    ],
    ids=["none", "garbage", "no-exp", "expired", "alg-none"],
)
async def test_bad_tokens_are_401(api, stack, headers):
    response = await api.get("/api/order/find/user-1", headers=headers)
    assert response.status == 401
    assert response.content_type == "application/problem+json"


async def test_patch_refuses_mass_assignment_and_applies_allowed_fields(api, stack):
    (order_id,) = await orders_for(stack, 1)
    refused = await api.patch(f"/api/order/{order_id}", json={"refunded": True, "userId": "user-2"}, headers=OWNER)
    assert refused.status == 400
    assert "refunded" in (await refused.json())["detail"]
    applied = await api.patch(f"/api/order/{order_id}", json={"address": "2 High St"}, headers=OWNER)
    assert applied.status == 200
    assert (await applied.json())["address"] == "2 High St"
    stale = await api.patch(f"/api/order/{order_id}", json={"isGift": True}, headers={**OWNER, "If-Match": '"1"'})
    assert stale.status == 412
    shipped = await api.patch(f"/api/order/{order_id}", json={"status": "Processing"}, headers=ADMIN)
    assert shipped.status == 200
    assert (await shipped.json())["status"] == "Processing"
    assert stack.orders.find_one({"_id": order_id})["userId"] == "user-1"


async def test_a_full_refund_on_the_original_route_answers_the_refunded_order(api, stack):
    (order_id,) = await orders_for(stack, 1)
    full = await api.get(f"/api/order/refundOrder/{order_id}", headers=OWNER)
    assert full.status == 200
    assert (await full.json())["status"] == "Refunded"


async def test_refunding_an_order_twice_is_409_already_refunded(api, stack):
    (order_id,) = await orders_for(stack, 1)
    await api.get(f"/api/order/refundOrder/{order_id}", headers=OWNER)
    twice = await api.get(f"/api/order/refundOrder/{order_id}", headers=OWNER)
    assert twice.status == 409
    assert (await twice.json())["reason"] == "already-refunded"


async def test_a_product_refund_on_the_original_route_returns_its_price(api, stack):
    (order_id,) = await orders_for(stack, 1)
    part = await api.get(f"/api/order/refundProductFromOrder/{order_id}?productId=apple&quantity=2", headers=OWNER)
    assert part.status == 200
    assert (await part.json())["refundedAmount"] == 2.5


async def test_refunding_more_than_is_left_is_409_quantity_exceeds_remaining(api, stack):
    (order_id,) = await orders_for(stack, 1)
    url = f"/api/order/refundProductFromOrder/{order_id}?productId=apple&quantity=2"
    await api.get(url, headers=OWNER)
    over = await api.get(url, headers=OWNER)
    assert over.status == 409
    assert (await over.json())["reason"] == "quantity-exceeds-remaining"


async def test_a_product_refund_on_the_post_route_marks_the_line_refunded(api, stack):
    (order_id,) = await orders_for(stack, 1)
    body = {"productId": "pear", "quantity": 2}
    posted = await api.post(f"/api/order/{order_id}/refund-product", json=body, headers=OWNER)
    assert posted.status == 200
    assert (await posted.json())["products"][1]["isRefunded"] is True


async def test_a_whole_refund_after_a_product_refund_is_409(api, stack):
    (order_id,) = await orders_for(stack, 1)
    await api.post(f"/api/order/{order_id}/refund-product", json={"productId": "pear", "quantity": 2}, headers=OWNER)
    whole = await api.post(f"/api/order/{order_id}/refund", headers=OWNER)
    assert whole.status == 409


async def test_a_zero_quantity_refund_is_400(api, stack):
    (order_id,) = await orders_for(stack, 1)
    url = f"/api/order/refundProductFromOrder/{order_id}?productId=pear&quantity=0"
    assert (await api.get(url, headers=OWNER)).status == 400


async def test_the_history_lists_the_payment_and_each_request_with_who_asked(api, stack):
    (order_id,) = await orders_for(stack, 1)
    refund = await api.post(
        f"/api/order/{order_id}/refund-product", json={"productId": "apple", "quantity": 1}, headers=OWNER
    )
    request_id = refund.headers["X-Request-Id"]
    response = await api.get(f"/api/order/{order_id}/history", headers=OWNER)
    assert response.status == 200
    entries = await response.json()
    assert [(e["kind"], e["requestId"], e["revision"]) for e in entries] == [
        ("payment", "pay-0", 1),
        ("refund", request_id, 2),
    ]
    assert entries[1]["requestedBy"] == {"userId": "user-1", "roles": []}
    assert entries[1]["refunded"] == 1.25


async def test_idempotency_keys_make_one_request(api, stack):
    (order_id,) = await orders_for(stack, 1)
    url = f"/api/order/{order_id}/refund-product"
    headers = {**OWNER, "Idempotency-Key": "checkout-42"}
    responses = [await api.post(url, json={"productId": "apple", "quantity": 1}, headers=headers) for _ in range(3)]
    assert {r.status for r in responses} == {200}
    assert len({r.headers["X-Request-Id"] for r in responses}) == 1
    assert stack.orders.find_one({"_id": order_id})["products"][0]["refundedQuantity"] == 1
    changed = await api.post(url, json={"productId": "apple", "quantity": 2}, headers=headers)
    assert changed.status == 422


async def test_with_the_dataflow_stopped_a_request_is_202_then_polled_to_its_outcome(api, stack):
    (order_id,) = await orders_for(stack, 1)
    for proc in stack.flows:
        stack.kill_flow(proc)
    response = await api.post(f"/api/order/{order_id}/refund?timeout=0.5", headers=OWNER)
    assert response.status == 202
    location = response.headers["Location"]
    assert (await (await api.get(location, headers=OWNER)).json())["status"] == "pending"
    stack.start_flow()
    deadline = time.monotonic() + 60
    while (status := await (await api.get(location, headers=OWNER)).json())["status"] == "pending":
        assert time.monotonic() < deadline, stack.flow_log()
        await asyncio.sleep(0.1)
    assert status["status"] == "applied"
    assert status["order"]["refunded"] is True


async def test_pages_of_orders_with_cursors(api, stack):
    ids = await orders_for(stack, 7)
    seen: list[str] = []
    cursor = ""
    while True:
        response = await api.get(f"/api/order/find/user-1?limit=3{cursor}", headers=OWNER)
        assert response.status == 200
        seen += [o["_id"] for o in await response.json()]
        if "X-Next-Cursor" not in response.headers:
            break
        cursor = f"&cursor={response.headers['X-Next-Cursor']}"
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))
    created = [stack.orders.find_one({"_id": i})["createdAt"] for i in seen]
    assert created == sorted(created, reverse=True)


async def test_ready_when_kafka_mongo_and_the_outcome_feed_answer(api, stack):
    response = await api.get("/health/ready")
    assert response.status == 200
    assert (await response.json())["checks"] == {"mongo": "ok", "kafka": "ok", "outcomes": "ok"}
