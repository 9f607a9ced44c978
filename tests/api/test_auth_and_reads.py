"""Authentication and the read routes, on the real app factory with fakes."""

from __future__ import annotations

import time

import jwt
import pytest

from tests.api.conftest import ADMIN, OTHER, OWNER, SECRET, add_order, bearer

PROBLEM = "application/problem+json"


def token(claims: dict, key: str = SECRET, algorithm: str = "HS256") -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt.encode(claims, key, algorithm=algorithm)}"}


NOW = int(time.time())
BAD_TOKENS = {
    "missing": {},
    "malformed": {"Authorization": "Bearer not.a.jwt"},
    "expired": token({"userId": "user-1", "userType": [], "iat": NOW - 100, "exp": NOW - 10}),
    "no exp": token({"userId": "user-1", "userType": []}),
    "wrong key": token({"userId": "user-1", "exp": NOW + 60}, key="another-secret-of-enough-length-0123456789"),
    "HS512": token({"userId": "user-1", "exp": NOW + 60}, key=SECRET * 2, algorithm="HS512"),
    "alg none": {
        "Authorization": "Bearer " + jwt.encode({"userId": "user-1", "exp": NOW + 60}, None, algorithm="none")
    },
    "no userId": token({"userType": ["admin"], "exp": NOW + 60}),
}


@pytest.mark.parametrize("name", BAD_TOKENS)
async def test_a_bad_token_is_401_with_a_problem(client, store, name):
    order_id = add_order(store, "pay-1")
    response = await client.get(f"/api/order/findOrder/{order_id}", headers=BAD_TOKENS[name])
    assert response.status == 401
    assert response.content_type == PROBLEM
    assert (await response.json())["status"] == 401


async def test_the_token_cookie_works_like_the_header(client, store):
    order_id = add_order(store, "pay-1")
    raw = OWNER["Authorization"].split()[1]
    response = await client.get(f"/api/order/findOrder/{order_id}", cookies={"token": raw})
    assert response.status == 200


async def test_an_order_shows_the_stored_fields_with_money_as_numbers(client, store):
    order_id = add_order(store, "pay-1")
    body = await (await client.get(f"/api/order/findOrder/{order_id}", headers=OWNER)).json()
    assert body["_id"] == order_id
    assert body["totalPrice"] == 23.75
    assert body["products"][0]["price"] == 1.25
    assert body["cardNumber"] == "************4242"
    assert body["version"] == 1
    assert not {"requests", "origin", "revision"} & body.keys()


async def test_another_users_order_is_forbidden_but_an_admin_sees_it(client, store):
    order_id = add_order(store, "pay-1")
    other = await client.get(f"/api/order/findOrder/{order_id}", headers=OTHER)
    assert other.status == 403
    assert "userId" not in await other.text()
    assert (await client.get(f"/api/order/findOrder/{order_id}", headers=ADMIN)).status == 200


@pytest.mark.parametrize(("order_id", "status"), [("0" * 24, 404), ("not-an-id", 400), ("A" * 24, 400)])
async def test_unknown_and_malformed_order_ids(client, order_id, status):
    response = await client.get(f"/api/order/findOrder/{order_id}", headers=OWNER)
    assert response.status == status
    assert response.content_type == PROBLEM


async def test_a_user_lists_only_their_own_orders(client, store):
    add_order(store, "pay-1")
    assert (await client.get("/api/order/find/user-1", headers=OTHER)).status == 403
    assert len(await (await client.get("/api/order/find/user-1", headers=ADMIN)).json()) == 1


async def test_orders_are_listed_newest_first_a_page_at_a_time(client, store):
    ids = [add_order(store, f"pay-{i}", at_ms=1_760_000_000_000 + i * 1000) for i in range(5)]
    seen: list[str] = []
    url = "/api/order/find/user-1?limit=2"
    pages = 0
    while url:
        response = await client.get(url, headers=OWNER)
        assert response.status == 200
        seen += [o["_id"] for o in await response.json()]
        cursor = response.headers.get("X-Next-Cursor")
        url = f"/api/order/find/user-1?limit=2&cursor={cursor}" if cursor else ""
        pages += 1
    assert seen == ids[::-1]
    assert pages == 3


async def test_orders_can_be_filtered_by_status(client, store):
    add_order(store, "pay-1")
    assert await (await client.get("/api/order/find/user-1?status=Refunded", headers=OWNER)).json() == []
    assert len(await (await client.get("/api/order/find/user-1?status=Pending", headers=OWNER)).json()) == 1


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "cursor=%%%", "cursor=bm90anNvbg", "status=Lost"])
async def test_bad_list_parameters_are_400(client, query):
    response = await client.get(f"/api/order/find/user-1?{query}", headers=OWNER)
    assert response.status == 400
    assert response.content_type == PROBLEM


async def test_liveness_and_readiness_answer_200_when_all_is_up(client):
    assert (await client.get("/health/live")).status == 200
    assert (await client.get("/health/ready")).status == 200


async def test_readiness_is_503_naming_mongo_when_it_is_down(client, store):
    store.up = False
    ready = await client.get("/health/ready")
    assert ready.status == 503
    assert (await ready.json())["checks"]["mongo"].startswith("down")


async def test_readiness_is_503_naming_the_outcome_feed_while_it_is_down(client, feed):
    feed.up = False
    ready = await client.get("/health/ready")
    assert ready.status == 503
    assert (await ready.json())["checks"]["outcomes"].startswith("down")


async def test_metrics_count_requests_by_route_and_status(client, store):
    await client.get("/api/order/find/user-1", headers=OWNER)
    metrics = await (await client.get("/metrics")).text()
    assert 'order_api_requests_total{method="GET",route="/api/order/find/{userId}",status="200"}' in metrics
    assert "order_api_request_seconds_bucket" in metrics


async def test_openapi_json_describes_every_route(client):
    spec = await (await client.get("/api/order/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    routes = {r.resource.canonical for r in client.app.router.routes() if r.resource is not None}
    assert routes <= set(spec["paths"])


async def test_an_unknown_route_is_a_problem_too(client):
    response = await client.get("/api/order/nothing/here/at/all", headers=bearer("u"))
    assert response.status == 404
    assert response.content_type == PROBLEM


async def test_an_order_carries_its_version_as_etag(client, store):
    order_id = add_order(store, "pay-1")
    response = await client.get(f"/api/order/findOrder/{order_id}", headers=OWNER)
    assert response.headers["ETag"] == '"1"'


async def test_if_none_match_with_the_current_version_is_304_without_a_body(client, store):
    order_id = add_order(store, "pay-1")
    response = await client.get(f"/api/order/findOrder/{order_id}", headers={**OWNER, "If-None-Match": '"1"'})
    assert response.status == 304
    assert await response.read() == b""


async def test_if_none_match_with_an_older_version_is_the_order(client, store):
    order_id = add_order(store, "pay-1")
    await client.patch(f"/api/order/{order_id}", json={"address": "2 High St"}, headers=OWNER)
    response = await client.get(f"/api/order/findOrder/{order_id}", headers={**OWNER, "If-None-Match": '"1"'})
    assert response.status == 200
    assert response.headers["ETag"] == '"2"'


async def test_a_long_request_line_gets_a_problem_document_not_the_parsers_text(client, store):
    order_id = add_order(store, "pay-1")
    query = "&".join(f"timeout=x{i}" for i in range(2_000))  # about 20 KiB
    response = await client.post(f"/api/order/{order_id}/refund?{query}", headers=OWNER)
    assert response.status == 400
    assert response.content_type == "application/problem+json"
