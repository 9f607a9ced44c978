"""Refunds and updates through the API: request events and their outcomes."""

from __future__ import annotations

import pytest

from http_api import keys
from tests.api.conftest import ADMIN, OTHER, OWNER, add_order

PROBLEM = "application/problem+json"


async def test_a_full_refund_on_the_original_route_answers_the_refunded_order(client, store, publisher):
    order_id = add_order(store, "pay-1")
    response = await client.get(f"/api/order/refundOrder/{order_id}", headers=OWNER)
    assert response.status == 200
    body = await response.json()
    assert body["refunded"] is True
    assert body["status"] == "Refunded"
    assert body["refundedAmount"] == 23.75
    ((topic, key, event),) = publisher.published
    assert topic == publisher.topics.refund_request
    assert key == order_id
    assert event["kind"] == "order"
    assert event["requestedBy"] == {"userId": "user-1", "roles": []}
    assert event["requestId"] == response.headers["X-Request-Id"]


async def test_refunding_twice_is_409_already_refunded(client, store):
    order_id = add_order(store, "pay-1")
    assert (await client.post(f"/api/order/{order_id}/refund", headers=OWNER)).status == 200
    again = await client.post(f"/api/order/{order_id}/refund", headers=OWNER)
    assert again.status == 409
    assert again.content_type == PROBLEM
    assert (await again.json())["reason"] == "already-refunded"


async def test_a_partial_refund_on_both_routes(client, store):
    order_id = add_order(store, "pay-1")
    first = await client.get(f"/api/order/refundProductFromOrder/{order_id}?productId=apple&quantity=1", headers=OWNER)
    assert first.status == 200
    assert (await first.json())["products"][0]["refundedQuantity"] == 1
    second = await client.post(
        f"/api/order/{order_id}/refund-product", json={"productId": "apple", "quantity": 2}, headers=OWNER
    )
    body = await second.json()
    assert second.status == 200
    assert body["products"][0]["isRefunded"] is True
    assert body["refundedAmount"] == 3.75
    over = await client.post(
        f"/api/order/{order_id}/refund-product", json={"productId": "apple", "quantity": 1}, headers=OWNER
    )
    assert over.status == 409
    assert (await over.json())["reason"] == "quantity-exceeds-remaining"
    unknown = await client.post(
        f"/api/order/{order_id}/refund-product", json={"productId": "kiwi", "quantity": 1}, headers=OWNER
    )
    assert unknown.status == 409
    assert (await unknown.json())["reason"] == "product-not-found"


BAD_REFUND_QUERIES = [
    "productId=apple&quantity=0",
    "productId=apple&quantity=-1",
    "productId=apple&quantity=abc",
    "productId=apple&quantity=1.5",
    "productId=apple",
    "quantity=1",
    "productId=&quantity=1",
]


@pytest.mark.parametrize("query", BAD_REFUND_QUERIES)
async def test_bad_refund_quantities_and_products_are_400_and_publish_nothing(client, store, publisher, query):
    order_id = add_order(store, "pay-1")
    response = await client.get(f"/api/order/refundProductFromOrder/{order_id}?{query}", headers=OWNER)
    assert response.status == 400
    assert response.content_type == PROBLEM
    assert publisher.published == []


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"{not json", {}),
        (b"[1, 2]", {}),
        (b'{"productId": "apple", "quantity": "2"}', {}),
        (b'{"productId": "apple", "quantity": 1, "price": 0}', {}),
        (b"x" * 70_000, {}),
    ],
)
async def test_malformed_and_oversized_bodies_are_400_never_500(client, store, body, headers):
    order_id = add_order(store, "pay-1")
    response = await client.post(
        f"/api/order/{order_id}/refund-product", data=body, headers={**OWNER, "Content-Type": "application/json"}
    )
    assert response.status == 400
    assert response.content_type == PROBLEM


async def test_every_mutation_of_another_users_order_is_403_and_publishes_nothing(client, store, publisher):
    order_id = add_order(store, "pay-1")
    calls = [
        client.get(f"/api/order/refundOrder/{order_id}", headers=OTHER),
        client.get(f"/api/order/refundProductFromOrder/{order_id}?productId=apple&quantity=1", headers=OTHER),
        client.post(f"/api/order/{order_id}/refund", headers=OTHER),
        client.post(f"/api/order/{order_id}/refund-product", json={"productId": "apple", "quantity": 1}, headers=OTHER),
        client.patch(f"/api/order/{order_id}", json={"address": "mine now"}, headers=OTHER),
    ]
    for call in calls:
        response = await call
        assert response.status == 403
        assert "pear" not in await response.text()
    assert publisher.published == []


async def test_patch_takes_address_and_gift_from_the_owner(client, store):
    order_id = add_order(store, "pay-1")
    response = await client.patch(
        f"/api/order/{order_id}", json={"address": "2 High St", "isGift": True}, headers=OWNER
    )
    body = await response.json()
    assert response.status == 200
    assert body["address"] == "2 High St"
    assert body["isGift"] is True
    assert body["version"] == 2


async def test_patch_refuses_every_other_field_by_name(client, store, publisher):
    order_id = add_order(store, "pay-1")
    response = await client.patch(
        f"/api/order/{order_id}", json={"totalPrice": 0, "cardNumber": "1", "address": "x"}, headers=OWNER
    )
    problem = await response.json()
    assert response.status == 400
    assert "cardNumber" in problem["detail"]
    assert "totalPrice" in problem["detail"]
    assert {p["name"] for p in problem["invalidParams"]} == {"cardNumber", "totalPrice"}
    assert publisher.published == []
    assert store.docs[order_id]["totalPrice"].to_decimal() == 23.75


async def test_only_an_admin_changes_status(client, store):
    order_id = add_order(store, "pay-1")
    by_owner = await client.patch(f"/api/order/{order_id}", json={"status": "Processing"}, headers=OWNER)
    assert by_owner.status == 403
    assert (await by_owner.json())["reason"] == "forbidden"
    by_admin = await client.patch(f"/api/order/{order_id}", json={"status": "Processing"}, headers=ADMIN)
    assert by_admin.status == 200
    assert (await by_admin.json())["status"] == "Processing"
    skip = await client.patch(f"/api/order/{order_id}", json={"status": "Delivered"}, headers=ADMIN)
    assert skip.status == 409
    assert (await skip.json())["reason"] == "invalid-transition"


async def test_if_match_is_the_expected_version(client, store):
    order_id = add_order(store, "pay-1")
    stale = await client.patch(f"/api/order/{order_id}", json={"isGift": True}, headers={**OWNER, "If-Match": '"7"'})
    assert stale.status == 412
    assert (await stale.json())["reason"] == "version-conflict"
    fresh = await client.patch(f"/api/order/{order_id}", json={"isGift": True}, headers={**OWNER, "If-Match": '"1"'})
    assert fresh.status == 200
    bad = await client.patch(f"/api/order/{order_id}", json={"isGift": False}, headers={**OWNER, "If-Match": "soon"})
    assert bad.status == 400


async def test_the_same_idempotency_key_is_the_same_request(client, store, publisher):
    order_id = add_order(store, "pay-1")
    url = f"/api/order/{order_id}/refund-product"
    headers = {**OWNER, "Idempotency-Key": "k-1"}
    first = await client.post(url, json={"productId": "apple", "quantity": 1}, headers=headers)
    second = await client.post(url, json={"productId": "apple", "quantity": 1}, headers=headers)
    assert first.status == second.status == 200
    assert first.headers["X-Request-Id"] == second.headers["X-Request-Id"]
    assert store.docs[order_id]["products"][0]["refundedQuantity"] == 1
    assert len(publisher.published) == 1  # the outcome was known, nothing to publish again
    other = await client.post(url, json={"productId": "apple", "quantity": 2}, headers=headers)
    assert other.status == 422
    assert other.content_type == PROBLEM


async def test_without_an_outcome_in_time_the_answer_is_202_and_the_request_can_be_polled(client, store, publisher):
    order_id = add_order(store, "pay-1")
    publisher.deciding = False  # the dataflow is stopped
    response = await client.post(f"/api/order/{order_id}/refund?timeout=0.2", headers=OWNER)
    assert response.status == 202
    pending = await response.json()
    assert pending["status"] == "pending"
    assert response.headers["Location"] == f"/api/order/requests/{pending['requestId']}"
    polled = await client.get(response.headers["Location"], headers=OWNER)
    assert (await polled.json())["status"] == "pending"
    assert (await client.get(response.headers["Location"], headers=OTHER)).status == 403
    topic, _, event = publisher.published[0]
    publisher.decide(topic, event)  # the dataflow catches up
    done = await (await client.get(response.headers["Location"], headers=OWNER)).json()
    assert done["status"] == "applied"
    assert done["order"]["refunded"] is True
    assert client.app[keys.OUTCOMES].waiting == 0
    metrics = await (await client.get("/metrics")).text()
    assert "order_api_outcome_timeouts_total 1.0" in metrics


@pytest.mark.parametrize("timeout", ["-1", "31", "soon", "nan"])
async def test_a_bad_timeout_is_400(client, store, timeout):
    order_id = add_order(store, "pay-1")
    response = await client.post(f"/api/order/{order_id}/refund?timeout={timeout}", headers=OWNER)
    assert response.status == 400


async def test_a_rejected_request_is_reported_by_the_request_route(client, store):
    order_id = add_order(store, "pay-1")
    rejected = await client.post(f"/api/order/{order_id}/refund-product", json={"productId": "kiwi", "quantity": 1},
                                 headers=OWNER)  # fmt: skip
    request_id = (await rejected.json())["requestId"]
    status = await (await client.get(f"/api/order/requests/{request_id}", headers=OWNER)).json()
    assert status == {"requestId": request_id, "orderId": order_id, "status": "rejected", "reason": "product-not-found",
                      "detail": ""}  # fmt: skip


async def test_a_refund_of_a_refunded_order_is_409_at_once_and_publishes_nothing(client, store, publisher):
    order_id = add_order(store, "pay-1")
    await client.post(f"/api/order/{order_id}/refund", headers=OWNER)
    published = len(publisher.published)
    again = await client.post(f"/api/order/{order_id}/refund", headers=OWNER)
    assert again.status == 409
    assert (await again.json())["reason"] == "already-refunded"
    assert len(publisher.published) == published
    assert (await client.get("/api/order/requests/nonsense", headers=OWNER)).status == 400
