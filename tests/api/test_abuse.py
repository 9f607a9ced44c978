"""The API's defences against cross-site requests and floods (docs/http-api.md, Abuse resistance)."""

from __future__ import annotations

import pytest

from http_api.app import create_app
from http_api.auth import issue_token
from shared.config import load_settings
from tests.api.conftest import ADMIN, OTHER, OWNER, SECRET, add_order

COOKIE = {"Cookie": f"token={issue_token(SECRET, 'user-1', [])}"}
CROSS_SITE = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}


async def app_with(aiohttp_client, store, publisher, feed, **env: str):
    settings = load_settings({"JWT_SEC": SECRET, **env}, dotenv=None)
    return await aiohttp_client(create_app(settings, store=store, publisher=publisher, feed=feed))


async def test_a_cross_site_cookie_refund_is_403_and_publishes_nothing(client, store, publisher):
    order_id = add_order(store, "pay-1")
    response = await client.get(f"/api/order/refundOrder/{order_id}", headers={**COOKIE, **CROSS_SITE})
    assert response.status == 403
    assert (await response.json())["reason"] == "cross-site"
    assert publisher.published == []


async def test_a_cross_site_cookie_patch_is_403(client, store):
    order_id = add_order(store, "pay-1")
    response = await client.patch(f"/api/order/{order_id}", json={"isGift": True}, headers={**COOKIE, **CROSS_SITE})
    assert response.status == 403


async def test_a_same_origin_cookie_refund_passes(client, store):
    order_id = add_order(store, "pay-1")
    headers = {**COOKIE, "Sec-Fetch-Site": "same-origin"}
    assert (await client.get(f"/api/order/refundOrder/{order_id}", headers=headers)).status == 200


@pytest.mark.parametrize("fetch_site", ["same-site", "none"])
async def test_a_sibling_subdomain_or_mail_link_cookie_refund_is_403(client, store, publisher, fetch_site):
    order_id = add_order(store, "pay-1")
    response = await client.get(f"/api/order/refundOrder/{order_id}", headers={**COOKIE, "Sec-Fetch-Site": fetch_site})
    assert response.status == 403
    assert publisher.published == []


async def test_a_cookie_refund_naming_no_source_is_403(client, store):
    order_id = add_order(store, "pay-1")
    assert (await client.post(f"/api/order/{order_id}/refund", headers=COOKIE)).status == 403


async def test_a_cross_site_request_with_a_bearer_token_passes(client, store):
    order_id = add_order(store, "pay-1")
    response = await client.post(f"/api/order/{order_id}/refund", headers={**OWNER, **CROSS_SITE})
    assert response.status == 200


async def test_a_cross_site_cookie_read_still_answers(client, store):
    order_id = add_order(store, "pay-1")
    assert (await client.get(f"/api/order/findOrder/{order_id}", headers={**COOKIE, **CROSS_SITE})).status == 200


async def test_an_allowed_origin_may_send_cookie_mutations(aiohttp_client, store, publisher, feed):
    client = await app_with(aiohttp_client, store, publisher, feed, ALLOWED_ORIGINS="https://shop.example")
    order_id = add_order(store, "pay-1")
    headers = {**COOKIE, "Sec-Fetch-Site": "cross-site", "Origin": "https://shop.example"}
    assert (await client.post(f"/api/order/{order_id}/refund", headers=headers)).status == 200


async def test_past_the_burst_a_user_gets_429_with_retry_after(aiohttp_client, store, publisher, feed):
    client = await app_with(aiohttp_client, store, publisher, feed, RATE_LIMIT_MUTATIONS="1/min burst 2")
    order_id = add_order(store, "pay-1")
    url = f"/api/order/{order_id}"
    answers = [await client.patch(url, json={"address": f"{i} Road"}, headers=OWNER) for i in range(3)]
    assert [a.status for a in answers] == [200, 200, 429]
    assert answers[2].headers["Retry-After"] == "60"
    assert (await answers[2].json())["reason"] == "rate-limited"


async def test_one_user_s_limit_leaves_another_user_alone(aiohttp_client, store, publisher, feed):
    client = await app_with(aiohttp_client, store, publisher, feed, RATE_LIMIT_MUTATIONS="1/min burst 1")
    mine, theirs = add_order(store, "pay-1"), add_order(store, "pay-2", user="user-2")
    await client.post(f"/api/order/{mine}/refund", headers=OWNER)
    assert (await client.post(f"/api/order/{mine}/refund", headers=OWNER)).status == 429
    assert (await client.post(f"/api/order/{theirs}/refund", headers=OTHER)).status == 200


async def test_admins_have_their_own_limit(aiohttp_client, store, publisher, feed):
    env = {"RATE_LIMIT_MUTATIONS": "1/min burst 1", "RATE_LIMIT_MUTATIONS_ADMIN": "off"}
    client = await app_with(aiohttp_client, store, publisher, feed, **env)
    order_id = add_order(store, "pay-1")
    statuses = [
        (await client.patch(f"/api/order/{order_id}", json={"address": f"{i}"}, headers=ADMIN)).status for i in range(3)
    ]
    assert statuses == [200, 200, 200]


async def test_requests_without_a_valid_token_are_limited_per_address(aiohttp_client, store, publisher, feed):
    client = await app_with(aiohttp_client, store, publisher, feed, RATE_LIMIT_ANONYMOUS="1/min burst 2")
    order_id = add_order(store, "pay-1")
    bad = {"Authorization": "Bearer nonsense"}
    statuses = [(await client.post(f"/api/order/{order_id}/refund", headers=bad)).status for _ in range(3)]
    assert statuses == [401, 401, 429]


async def test_refusals_are_counted_by_reason(aiohttp_client, store, publisher, feed):
    client = await app_with(aiohttp_client, store, publisher, feed, RATE_LIMIT_MUTATIONS="1/min burst 1")
    order_id = add_order(store, "pay-1")
    for _ in range(2):
        await client.post(f"/api/order/{order_id}/refund", headers=OWNER)
    await client.post(f"/api/order/{order_id}/refund", headers={**COOKIE, **CROSS_SITE})
    metrics = await (await client.get("/metrics")).text()
    assert 'order_api_refused_total{reason="rate-limit-user"} 1.0' in metrics
    assert 'order_api_refused_total{reason="cross-site"} 1.0' in metrics


async def test_a_user_s_new_idempotency_keys_are_capped_a_day(aiohttp_client, store, publisher, feed):
    client = await app_with(aiohttp_client, store, publisher, feed, IDEMPOTENCY_KEYS_PER_DAY="2")
    order_id = add_order(store, "pay-1")
    url = f"/api/order/{order_id}/refund-product"
    body = {"productId": "apple", "quantity": 1}
    statuses = [
        (await client.post(url, json=body, headers={**OWNER, "Idempotency-Key": f"k-{i}"})).status for i in range(3)
    ]
    assert statuses == [200, 200, 429]


async def test_a_key_already_made_still_answers_at_the_cap(aiohttp_client, store, publisher, feed):
    client = await app_with(aiohttp_client, store, publisher, feed, IDEMPOTENCY_KEYS_PER_DAY="1")
    order_id = add_order(store, "pay-1")
    url = f"/api/order/{order_id}/refund-product"
    headers = {**OWNER, "Idempotency-Key": "k-1"}
    await client.post(url, json={"productId": "apple", "quantity": 1}, headers=headers)
    again = await client.post(url, json={"productId": "apple", "quantity": 1}, headers=headers)
    assert again.status == 200


@pytest.mark.parametrize("length", [201, 5_000])
async def test_an_overlong_idempotency_key_is_400(client, store, length):
    order_id = add_order(store, "pay-1")
    headers = {**OWNER, "Idempotency-Key": "k" * length}
    assert (await client.post(f"/api/order/{order_id}/refund", headers=headers)).status == 400


async def test_429_is_documented_with_retry_after_on_every_mutation(client):
    spec = await (await client.get("/api/order/openapi.json")).json()
    mutations = [op for path in spec["paths"].values() for method, op in path.items() if method in {"post", "patch"}]
    mutations += [spec["paths"][p]["get"] for p in spec["paths"] if p.startswith("/api/order/refund")]
    assert [op["responses"]["429"]["$ref"] for op in mutations] == ["#/components/responses/TooManyRequests"] * 5
    assert "Retry-After" in spec["components"]["responses"]["TooManyRequests"]["headers"]
