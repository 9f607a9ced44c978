from __future__ import annotations

import json

import pytest

from devkit.samples import payment
from http_api.app import create_app
from http_api.auth import issue_token
from shared.config import load_settings
from shared.domain import handle
from shared.schemas.messages import parse_message
from shared.storage import order_to_doc
from shared.topics import Kind
from tests.api.fakes import DecidingPublisher, FakeFeed, FakeStore

SECRET = "test-secret-for-the-order-api-0123456789"


def bearer(user: str, roles: list[str] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, user, roles or [])}"}


OWNER = bearer("user-1")
OTHER = bearer("user-2")
ADMIN = bearer("root", ["admin"])


def add_order(store: FakeStore, payment_id: str, user: str = "user-1", at_ms: int = 1_760_000_000_000) -> str:
    command = parse_message(Kind.PAYMENT, json.dumps(payment(payment_id, user=user)).encode(), at_ms).command
    order, _ = handle(None, command)
    store.docs[order.id] = order_to_doc(order)
    return order.id


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def settings():
    return load_settings({"JWT_SEC": SECRET}, dotenv=None)


@pytest.fixture
def feed() -> FakeFeed:
    return FakeFeed()


@pytest.fixture
def publisher(store, settings, feed) -> DecidingPublisher:
    return DecidingPublisher(store, settings.topics, feed)


@pytest.fixture
async def client(aiohttp_client, settings, store, publisher, feed):
    return await aiohttp_client(create_app(settings, store=store, publisher=publisher, feed=feed))
