"""GET /api/order/schemas: each topic's JSON Schema, under the configured topic names."""

from __future__ import annotations

from http_api.app import create_app
from shared.config import load_settings
from shared.schemas.topic_schemas import topic_schemas
from tests.api.conftest import SECRET


async def test_the_index_lists_every_topic_with_its_schemas_path(client):
    response = await client.get("/api/order/schemas")
    listed = await response.json()
    assert response.status == 200
    assert listed == {name: f"/api/order/schemas/{name}" for name in topic_schemas()}


async def test_a_topics_schema_is_served_as_the_code_makes_it(client):
    response = await client.get("/api/order/schemas/refund-request")
    assert response.status == 200
    assert response.content_type == "application/schema+json"
    assert await response.json() == topic_schemas()["refund-request"]


async def test_an_unknown_topic_is_a_404_problem(client):
    response = await client.get("/api/order/schemas/no-such-topic")
    assert response.status == 404
    assert response.content_type == "application/problem+json"


async def test_schemas_go_by_the_names_the_settings_give(aiohttp_client, store, publisher, feed):
    settings = load_settings({"JWT_SEC": SECRET, "TOPIC_REFUND_REQUEST": "refunds-v2"}, dotenv=None)
    client = await aiohttp_client(create_app(settings, store=store, publisher=publisher, feed=feed))
    listed = await (await client.get("/api/order/schemas")).json()
    assert "refunds-v2" in listed and "refund-request" not in listed
    assert (await (await client.get("/api/order/schemas/refunds-v2")).json())["title"] == "refunds-v2"
