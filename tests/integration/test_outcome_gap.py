"""A request's outcome in the gap the flow leaves between its two writes: the order
(with the request's record in ``pending``) is stored, the record not yet (a crash
holds this gap open until the flow's restart). The API on a real Mongo-protocol
server reads the outcome there; the flow's part is played by the pure core."""

from __future__ import annotations

import json
import uuid

import pytest

from dataflows.mongo_io import ensure_indexes, orders_collection, records_collection, write_orders
from devkit.sandbox import with_database
from http_api.app import create_app
from http_api.mongo_store import MongoOrderStore
from shared.config import load_settings
from shared.domain import handle
from shared.domain.commands import RefundOrder, RefundProduct
from shared.schemas.messages import parse_message
from shared.step import step
from shared.storage import order_from_doc, order_to_doc
from shared.topics import Topic
from tests.api.conftest import OWNER, SECRET
from tests.api.fakes import FakeFeed
from tests.unit.builders import ORDER_ID, pay

REFUND = f"/api/order/{ORDER_ID}/refund"
KEYED = {**OWNER, "Idempotency-Key": "refund-in-the-gap"}


class HeldPublisher:
    """Takes each request and decides nothing: the test writes what the flow would."""

    def __init__(self) -> None:
        self.published: list[tuple[object, dict]] = []

    async def publish(self, topic, key: str, value: dict) -> None:
        self.published.append((topic, value))

    async def ping(self) -> None:
        return None


@pytest.fixture
def mongo_uri(servers) -> str:
    uri = with_database(servers.mongo_uri, f"gap-{uuid.uuid4().hex[:8]}")
    orders = orders_collection(uri)
    ensure_indexes(orders)
    order, _ = handle(None, pay())
    write_orders(orders, [order_to_doc(order)])
    return uri


@pytest.fixture
def publisher() -> HeldPublisher:
    return HeldPublisher()


@pytest.fixture
async def api(aiohttp_client, mongo_uri, publisher):
    store = MongoOrderStore(mongo_uri)
    await store.ensure_indexes()
    settings = load_settings({"JWT_SEC": SECRET, "MONGO_URI": mongo_uri}, dotenv=None)
    return await aiohttp_client(create_app(settings, store=store, publisher=publisher, feed=FakeFeed()))


def flow_writes_the_order_only(mongo_uri: str, publisher: HeldPublisher) -> None:
    """The flow decides the published request and stores its order, then dies."""
    topic, value = publisher.published[-1]
    assert isinstance(topic, Topic)
    command = parse_message(topic.kind, json.dumps(value).encode(), 1_760_000_000_000).command
    assert isinstance(command, RefundProduct | RefundOrder), command
    orders = orders_collection(mongo_uri)
    taken = step(order_from_doc(orders.find_one({"_id": ORDER_ID})), command, None)
    assert taken.doc is not None and taken.record is not None
    write_orders(orders, [taken.doc], [taken.record])


async def refunded_in_the_gap(api, mongo_uri: str, publisher: HeldPublisher) -> str:
    first = await api.post(f"{REFUND}?timeout=0", headers=KEYED)
    assert first.status == 202, await first.text()
    flow_writes_the_order_only(mongo_uri, publisher)
    assert records_collection(mongo_uri).count_documents({}) == 0
    return (await first.json())["requestId"]


async def test_a_retry_in_the_gap_is_told_its_refund_was_applied(api, mongo_uri, publisher):
    request_id = await refunded_in_the_gap(api, mongo_uri, publisher)
    retry = await api.post(REFUND, headers=KEYED)
    assert retry.status == 200, await retry.text()
    assert retry.headers["X-Request-Id"] == request_id
    assert (await retry.json())["status"] == "Refunded"


async def test_a_poll_in_the_gap_says_applied(api, mongo_uri, publisher):
    request_id = await refunded_in_the_gap(api, mongo_uri, publisher)
    poll = await api.get(f"/api/order/requests/{request_id}", headers=OWNER)
    outcome = await poll.json()
    assert outcome["status"] == "applied", outcome
    assert outcome["order"]["status"] == "Refunded"


async def test_the_history_in_the_gap_shows_the_request(api, mongo_uri, publisher):
    request_id = await refunded_in_the_gap(api, mongo_uri, publisher)
    history = await (await api.get(f"/api/order/{ORDER_ID}/history", headers=OWNER)).json()
    assert [entry.get("requestId") for entry in history][-1] == request_id
