"""A request kind is one registry entry, its command and its decider: a toy kind, added
here and gone after the test, is routed, documented, published on its own topic,
parsed, decided, recorded and answered with nothing else changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import pytest

from http_api import served_kinds
from http_api.app import create_app
from http_api.served_fields import TIMEOUT, RouteFields
from http_api.served_kinds import BodyForm, Route
from shared.config import load_settings
from shared.domain import deciding
from shared.domain.commands import UpdateOrder
from shared.domain.model import Actor, Order
from shared.domain.policy import Policy
from shared.schemas import request_kinds
from shared.schemas.inputs import parse_update
from shared.schemas.request_kinds import RequestKind
from shared.topics import Topic
from tests.api.conftest import OWNER, SECRET, add_order
from tests.api.fakes import DecidingPublisher

GIFT_KIND = "gift-wrap"


class WrapAsGift(NamedTuple):
    """The toy's command: make the order a gift."""

    request_id: str
    order_id: str
    requested_by: Actor | None
    at: datetime
    seen_version: int | None = None


def parse_wrap(body: dict[str, Any], fallback_at: datetime | None) -> WrapAsGift:
    update = parse_update({**body, "changes": {"isGift": True}}, fallback_at)
    return WrapAsGift(update.request_id, update.order_id, update.requested_by, update.at, update.seen_version)


def decide_wrap(order: Order, cmd: WrapAsGift, policy: Policy):
    as_update = UpdateOrder(cmd.request_id, cmd.order_id, (("is_gift", True),), cmd.requested_by, cmd.at)
    return deciding._decide_update(order, as_update._replace(seen_version=cmd.seen_version), policy)


TOY = RequestKind(
    label="gift",
    topic=Topic("gift_wrap_request", "gift-wrap-request", GIFT_KIND, "orderId"),
    commands=(WrapAsGift,),
    parse=parse_wrap,
    fields=lambda fields, expected_version: {},
)
TOY_ROUTES = (Route("POST", "/{orderId}/gift-wrap", RouteFields(query=(TIMEOUT,)), BodyForm.EMPTY, "Wrap it"),)


@pytest.fixture
async def toy_client(monkeypatch, aiohttp_client, store, feed):
    monkeypatch.setitem(request_kinds.REQUEST_KINDS, GIFT_KIND, TOY)
    monkeypatch.setitem(served_kinds.ROUTES, TOY.label, TOY_ROUTES)
    monkeypatch.setitem(deciding._DECIDERS, WrapAsGift, decide_wrap)
    settings = load_settings({"JWT_SEC": SECRET}, dotenv=None)
    publisher = DecidingPublisher(store, settings.topics, feed)
    client = await aiohttp_client(create_app(settings, store=store, publisher=publisher, feed=feed))
    return client, publisher


async def test_the_toy_kind_is_answered_with_the_order_it_changed(toy_client, store):
    client, _ = toy_client
    order_id = add_order(store, "pay-1")
    response = await client.post(f"/api/order/{order_id}/gift-wrap", headers=OWNER)
    assert response.status == 200, await response.text()
    assert (await response.json())["isGift"] is True


async def test_the_toy_kind_is_published_on_its_own_topic(toy_client, store):
    client, publisher = toy_client
    order_id = add_order(store, "pay-1")
    await client.post(f"/api/order/{order_id}/gift-wrap", headers=OWNER)
    ((topic, key, _),) = publisher.published
    assert (topic.name, key) == ("gift-wrap-request", order_id)


async def test_the_toy_kind_is_recorded_under_its_label(toy_client, store):
    client, _ = toy_client
    order_id = add_order(store, "pay-1")
    await client.post(f"/api/order/{order_id}/gift-wrap", headers=OWNER)
    assert [r["kind"] for r in store.records_by_id.values()] == ["gift"]


async def test_the_toy_kind_is_in_the_openapi_document(toy_client):
    client, _ = toy_client
    document = await (await client.get("/api/order/openapi.json")).json()
    assert document["paths"]["/api/order/{orderId}/gift-wrap"]["post"]["summary"] == "Wrap it"
    assert "gift" in document["components"]["schemas"]["HistoryEntry"]["properties"]["kind"]["enum"]


def test_the_toy_kind_is_gone_after_its_test():
    assert GIFT_KIND not in request_kinds.REQUEST_KINDS
