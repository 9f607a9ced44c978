"""The benchmark's baseline (bench.direct_refund) does a refund as the original does,
right: its figures stand for the original only if its answers are the original's."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from pymongo import MongoClient

from devkit.servers import ROOT, free_port, wait_for_port
from http_api.auth import issue_token
from ops import children

SECRET = "direct-baseline-test-secret-0123456789abcdef"
COLLECTION = "direct-baseline-orders"


@pytest.fixture
def direct(servers) -> Iterator[tuple[str, object]]:
    with MongoClient(servers.mongo_uri) as client:
        orders = client.get_default_database()[COLLECTION]
        orders.delete_many({})
        orders.insert_one(
            {"_id": "o1", "userId": "alice", "version": 1,
             "products": [{"productId": "apple", "quantity": 3, "refundedQuantity": 0}]}
        )  # fmt: skip
        port = free_port()
        cmd = [sys.executable, "-m", "bench.direct_refund", str(port), servers.mongo_uri, SECRET, COLLECTION]
        proc = children.start(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port, proc, 30, "the direct baseline")
            yield f"http://127.0.0.1:{port}/api/order/o1/refund-product", orders
        finally:
            children.stop_all([proc], 5.0)


def refund(url: str, user: str, quantity: int) -> tuple[int, dict]:
    body = json.dumps({"productId": "apple", "quantity": quantity}).encode()
    headers = {"Content-Type": "application/json", "Cookie": f"token={issue_token(SECRET, user, [])}"}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_refund_moves_the_line_and_the_version_on(direct):
    url, orders = direct
    assert refund(url, "alice", 2) == (200, {"orderId": "o1", "version": 2})
    assert orders.find_one({"_id": "o1"})["products"][0]["refundedQuantity"] == 2


def test_more_than_is_left_is_409_and_changes_nothing(direct):
    url, orders = direct
    refund(url, "alice", 2)
    assert refund(url, "alice", 2)[0] == 409
    assert orders.find_one({"_id": "o1"})["products"][0]["refundedQuantity"] == 2


def test_another_users_order_is_404(direct):
    url, orders = direct
    assert refund(url, "mallory", 1)[0] == 404
    assert orders.find_one({"_id": "o1"})["version"] == 1
