"""Every request means one thing: a product refund names its product and quantity,
nothing unknown is ignored, and an Idempotency-Key never answers for another request."""

from __future__ import annotations

import pytest

from tests.api.conftest import OWNER, add_order
from tests.card_scan import cards_in

PROBLEM = "application/problem+json"
UNCHANGED_VERSION = 1
ONE_APPLE = {"productId": "apple", "quantity": 1}


def names(problem: dict) -> set[str]:
    return {p["name"] for p in problem.get("invalidParams", [])}


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({}, "productId"),
        ({"productId": None, "quantity": None}, "productId"),
        ({"productId": "apple"}, "quantity"),
        ({"quantity": 1}, "productId"),
        ({"productId": "apple", "quantity": None}, "quantity"),
        ({"productId": "apple", "quantity": "1"}, "quantity"),
        ({"productId": "apple", "quantity": 1.0}, "quantity"),
        ({"productId": "apple", "quantity": True}, "quantity"),
        ({"productId": 7, "quantity": 1}, "productId"),
        ({"product_id": "apple", "qty": 1}, "product_id"),
    ],
)
async def test_a_product_refund_body_that_does_not_name_both_fields_is_400_naming_one(
    client, store, publisher, body, named
):
    order_id = add_order(store, "pay-1")
    response = await client.post(f"/api/order/{order_id}/refund-product", json=body, headers=OWNER)
    assert response.status == 400, await response.text()
    assert response.content_type == PROBLEM
    assert named in names(await response.json())
    assert publisher.published == []
    assert store.docs[order_id]["version"] == UNCHANGED_VERSION


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("", "productId"),
        ("product_id=apple&qty=1", "product_id"),
        ("productId=apple&qty=1", "qty"),
        ("productId=apple&quantity=%EF%BC%91", "quantity"),  # a full-width digit one
        ("productId=apple&quantity=+1", "quantity"),
        ("productId=apple&quantity=1&quantity=2", "quantity"),
        ("productId=apple&quantity=1&reason=x", "reason"),
    ],
)
async def test_a_product_refund_query_that_is_not_exact_is_400_naming_the_parameter(
    client, store, publisher, query, named
):
    order_id = add_order(store, "pay-1")
    response = await client.get(f"/api/order/refundProductFromOrder/{order_id}?{query}", headers=OWNER)
    assert response.status == 400, await response.text()
    assert named in names(await response.json())
    assert publisher.published == []
    assert store.docs[order_id]["status"] == "Pending"


@pytest.mark.parametrize(
    "call",
    [
        lambda c, o: c.post(f"/api/order/{o}/refund?productId=apple&quantity=1", headers=OWNER),
        lambda c, o: c.get(f"/api/order/refundOrder/{o}?productId=apple", headers=OWNER),
        lambda c, o: c.post(f"/api/order/{o}/refund", json=ONE_APPLE, headers=OWNER),
        lambda c, o: c.post(f"/api/order/{o}/refund-product?tiemout=1", json=ONE_APPLE, headers=OWNER),
        lambda c, o: c.patch(f"/api/order/{o}?dryRun=1", json={"isGift": True}, headers=OWNER),
    ],
)
async def test_a_whole_refund_or_update_with_anything_unknown_is_400_and_publishes_nothing(
    client, store, publisher, call
):
    order_id = add_order(store, "pay-1")
    response = await call(client, order_id)
    assert response.status == 400, await response.text()
    assert publisher.published == []
    assert store.docs[order_id]["status"] == "Pending"


async def test_a_whole_refund_takes_an_empty_object_as_no_body(client, store):
    order_id = add_order(store, "pay-1")
    response = await client.post(f"/api/order/{order_id}/refund", json={}, headers=OWNER)
    assert response.status == 200
    assert (await response.json())["status"] == "Refunded"


async def test_a_key_reused_after_its_document_expired_is_a_new_request_and_is_applied(client, store):
    order_id = add_order(store, "pay-1")
    url = f"/api/order/{order_id}/refund-product"
    headers = {**OWNER, "Idempotency-Key": "refund-o1"}
    day_one = await client.post(url, json={"productId": "apple", "quantity": 1}, headers=headers)
    assert day_one.status == 200
    store.keys.clear()  # what the TTL index leaves a day later
    day_two = await client.post(url, json={"productId": "pear", "quantity": 1}, headers=headers)
    assert day_two.status == 200
    assert day_two.headers["X-Request-Id"] != day_one.headers["X-Request-Id"]
    products = {p["productId"]: p["refundedQuantity"] for p in (await day_two.json())["products"]}
    assert products == {"apple": 1, "pear": 1}


async def test_a_card_number_in_a_path_is_masked_in_the_problem_document(client):
    response = await client.get("/api/order/requests/4111111111111111", headers=OWNER)
    assert response.status == 400
    assert cards_in(await response.text()) == []


async def test_a_request_id_holds_no_run_of_digits_the_card_masker_could_take(client, store):
    order_id = add_order(store, "pay-1")
    response = await client.post(f"/api/order/{order_id}/refund", headers=OWNER)
    random_part = response.headers["X-Request-Id"].removeprefix(f"{order_id}-")
    assert len(random_part) == 32
    assert not any(ch.isdigit() for ch in random_part)


LUHN_ORDER_PAYMENT = "pay-43"  # its order id, 1c0ce5e0cf53604379078376, holds a Luhn-valid run of 14 digits


async def test_a_problem_about_an_order_whose_id_holds_a_luhn_run_shows_its_ids_whole(client, store):
    order_id = add_order(store, LUHN_ORDER_PAYMENT)
    assert cards_in(order_id), "the order id no longer holds a Luhn-valid run: pick another payment"
    url = f"/api/order/{order_id}/refund"
    await client.post(url, headers=OWNER)
    again = await client.post(url, headers=OWNER)
    problem = await again.json()
    assert again.status == 409
    assert problem["requestId"] == again.headers["X-Request-Id"]
    assert problem["requestId"].startswith(order_id)
    assert problem["instance"] == url


async def test_a_card_number_beside_an_own_id_is_still_masked(client, store):
    order_id = add_order(store, LUHN_ORDER_PAYMENT)
    response = await client.post(
        f"/api/order/{order_id}/refund-product", json={"productId": "4111111111111111", "quantity": 1}, headers=OWNER
    )
    text = await response.text()
    assert response.status == 409, text
    assert "4111111111111111" not in text


async def test_a_retry_whose_json_keys_come_in_another_order_is_the_same_request(client, store):
    order_id = add_order(store, "pay-1")
    headers = {**OWNER, "Idempotency-Key": "patch-o1"}
    first = await client.patch(
        f"/api/order/{order_id}", data='{"address": "1 Main St", "isGift": true}', headers=headers
    )
    retry = await client.patch(
        f"/api/order/{order_id}", data='{"isGift": true, "address": "1 Main St"}', headers=headers
    )
    assert first.status == 200, await first.text()
    assert retry.status == 200, await retry.text()
    assert retry.headers["X-Request-Id"] == first.headers["X-Request-Id"]
