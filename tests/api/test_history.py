"""GET /api/order/:orderId/history: every command that reached the order, oldest first."""

from __future__ import annotations

from tests.api.conftest import ADMIN, OTHER, OWNER, add_order


async def history(client, order_id: str, headers=OWNER, query: str = ""):
    return await client.get(f"/api/order/{order_id}/history{query}", headers=headers)


async def entries_after_two_refunds(client, store) -> list[dict]:
    order_id = add_order(store, "pay-1")
    url = f"/api/order/{order_id}/refund-product"
    await client.post(url, json={"productId": "apple", "quantity": 1}, headers=OWNER)
    await client.post(url, json={"productId": "kiwi", "quantity": 1}, headers=OWNER)  # no such product
    response = await history(client, order_id)
    assert response.status == 200
    return await response.json()


async def test_the_payment_comes_first_with_what_it_charged_and_took_from_stock(client, store):
    payment, _, _ = await entries_after_two_refunds(client, store)
    assert (payment["kind"], payment["status"], payment["revision"]) == ("payment", "applied", 1)
    assert payment["charged"] == 23.75
    assert payment["requestedBy"] is None
    assert sorted((s["productId"], s["delta"]) for s in payment["stock"]) == [("apple", -3), ("pear", -2)]


async def test_an_applied_refund_says_who_asked_and_what_it_gave_back(client, store):
    _, refund, _ = await entries_after_two_refunds(client, store)
    assert (refund["kind"], refund["type"], refund["revision"]) == ("refund", "ProductRefunded", 2)
    assert refund["requestedBy"] == {"userId": "user-1", "roles": []}
    assert refund["refunded"] == 1.25
    assert refund["stock"] == [{"productId": "apple", "delta": 1}]


async def test_a_rejected_request_is_listed_with_its_reason_and_moved_nothing(client, store):
    _, _, rejected = await entries_after_two_refunds(client, store)
    assert (rejected["status"], rejected["reason"]) == ("rejected", "product-not-found")
    assert rejected["refunded"] == 0
    assert rejected["stock"] == []


async def test_another_users_history_is_403_and_an_admin_sees_it(client, store):
    order_id = add_order(store, "pay-1")
    assert (await history(client, order_id, OTHER)).status == 403
    assert (await history(client, order_id, ADMIN)).status == 200


async def test_an_unknown_order_has_no_history(client):
    assert (await history(client, "0" * 24)).status == 404


async def test_the_history_comes_in_pages_linked_by_a_cursor(client, store):
    order_id = add_order(store, "pay-1")
    for address in ("a", "b", "c"):
        await client.patch(f"/api/order/{order_id}", json={"address": address}, headers=OWNER)
    first = await history(client, order_id, query="?limit=2")
    assert [e["revision"] for e in await first.json()] == [1, 2]
    cursor = first.headers["X-Next-Cursor"]
    assert 'rel="next"' in first.headers["Link"]
    second = await history(client, order_id, query=f"?limit=2&cursor={cursor}")
    assert [e["revision"] for e in await second.json()] == [3, 4]
    assert "X-Next-Cursor" not in second.headers


async def test_a_cursor_not_made_by_the_api_is_400(client, store):
    order_id = add_order(store, "pay-1")
    response = await history(client, order_id, query="?cursor=bm9wZQ")
    assert response.status == 400
    assert response.content_type == "application/problem+json"
