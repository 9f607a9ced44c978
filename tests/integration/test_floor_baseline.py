"""The floor B2 repeated holds refunds against (bench.floor_refund) does each refund
right, through its two Kafka hops: its figures stand for the design done bare only if
its answers are a refund's. And bench.hops finds a refund's request and answer on the topics."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from bench.b2_repeated import FLOOR_COLLECTION, Floor, start_floor
from bench.hops import hop_medians
from devkit.sandbox import JWT_SECRET, Stack
from http_api.auth import issue_token


@pytest.fixture
def floor(servers, tmp_path) -> Iterator[tuple[Floor, Stack]]:
    stack = Stack(servers.kafka_uri, servers.mongo_uri, tmp_path / "floor")
    stack.orders.insert_one(
        {"_id": "o1", "userId": "alice", "version": 1,
         "products": [{"productId": "apple", "quantity": 3, "refundedQuantity": 0}]}
    )  # fmt: skip
    started = start_floor(stack, ["o1"])
    try:
        yield started, stack
    finally:
        started.stop()
        stack.close()


def refund(floor: Floor, user: str, quantity: int) -> tuple[int, dict, str | None]:
    url = f"http://127.0.0.1:{floor.port}/api/order/o1/refund-product"
    body = json.dumps({"productId": "apple", "quantity": quantity}).encode()
    headers = {"Content-Type": "application/json", "Cookie": f"token={issue_token(JWT_SECRET, user, [])}"}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=30) as answer:
            return answer.status, json.loads(answer.read()), answer.headers.get("X-Request-Id")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), None


def test_a_refund_goes_through_both_hops_and_moves_the_copy(floor):
    started, stack = floor
    status, body, request_id = refund(started, "alice", 2)
    assert (status, body) == (200, {"orderId": "o1", "version": 2})
    assert request_id, "no X-Request-Id: bench.hops cannot split this refund"
    copy = stack.orders.database[FLOOR_COLLECTION].find_one({"_id": "o1"})
    assert copy["products"][0]["refundedQuantity"] == 2


def test_more_than_is_left_is_409(floor):
    started, _ = floor
    assert refund(started, "alice", 4)[0] == 409


def test_another_users_order_is_404_before_anything_is_sent(floor):
    started, _ = floor
    assert refund(started, "mallory", 1)[0] == 404


def test_the_hops_of_a_refund_are_found_in_order_within_its_time(floor):
    started, stack = floor
    sent = time.time() * 1000
    status, _, request_id = refund(started, "alice", 1)
    answered = time.time() * 1000
    assert status == 200
    hops = hop_medians(stack.settings.kafka, *started.topics, [[sent, answered, request_id]])
    assert len(hops) == 3, f"a hop was not found on the topics: {hops}"
    # The request produced after the send, the answer after the request, the reply after the
    # answer (the producers stamp whole milliseconds): each hop within the refund's time.
    assert all(-1 <= ms <= answered - sent + 1 for ms in hops.values()), (hops, answered - sent)
