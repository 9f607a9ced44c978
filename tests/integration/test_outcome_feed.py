"""The API's outcome feed survives whatever is written to order-events, and comes
back after a failure (readiness says 503 meanwhile)."""

from __future__ import annotations

import asyncio
import json

import pytest

from devkit.sandbox import Stack
from http_api import outcome_feed
from http_api.outcome_feed import KafkaOutcomeFeed

ODD_VALUES = [
    b'["requestId"]',
    b'"requestId"',
    b'{"requestId": 7}',
    b'{"requestId": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'\xff"requestId"\xfe',
    b'{"requestId": "r-1"',
]


def event(request_id: str) -> dict:
    return {"type": "OrderRefunded", "requestId": request_id, "orderId": "o"}


def told(decided: list[str]):
    """The feed's callback, keeping the request id of each event it hands over."""
    return lambda events: decided.extend(e["requestId"] for e in events)


async def until(check, timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


@pytest.fixture
async def feed_on(stack: Stack):
    decided: list[str] = []
    feed = KafkaOutcomeFeed(stack.settings.kafka, stack.topics.order_events.name)
    await feed.start({"wanted-1", "wanted-2", "wanted-3"}, told(decided))
    yield feed, decided
    await feed.close()


async def test_odd_values_on_order_events_do_not_stop_the_feed(stack: Stack, feed_on):
    feed, decided = feed_on
    topic = stack.topics.order_events.name
    stack.produce(topic, [(f"odd-{i}", value) for i, value in enumerate(ODD_VALUES)])
    stack.produce(topic, [("o", event("wanted-1"))])
    await until(lambda: decided == ["wanted-1"])
    assert feed.running()


async def test_a_failed_feed_is_down_then_restarted_where_it_was(stack: Stack, monkeypatch):
    real = outcome_feed._request_event
    failing = {"left": 1}

    def fails_once(value: bytes):
        if b"boom" in value and failing["left"]:
            failing["left"] -= 1
            raise RuntimeError("a bug in the feed")
        return real(value)

    monkeypatch.setattr(outcome_feed, "_request_event", fails_once)
    monkeypatch.setattr(outcome_feed, "RESTART_FIRST_S", 2.0)
    decided: list[str] = []
    feed = KafkaOutcomeFeed(stack.settings.kafka, stack.topics.order_events.name)
    await feed.start({"wanted-2"}, told(decided))
    try:
        topic = stack.topics.order_events.name
        stack.produce(topic, [("o", json.dumps({**event("x"), "boom": 1}).encode())])
        await until(lambda: not feed.running())
        stack.produce(topic, [("o", event("wanted-2"))])  # written while the feed is down
        await until(feed.running)
        await until(lambda: "wanted-2" in decided)
    finally:
        await feed.close()
