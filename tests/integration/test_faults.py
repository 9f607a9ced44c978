"""Fault tests: crashes, duplicates and disorder, contention, server restarts, bad input."""

from __future__ import annotations

import asyncio
import random
import signal
import threading
import time
from collections import Counter
from dataclasses import replace
from functools import partial

import pytest

from devkit.sandbox import JWT_SECRET, Stack
from http_api.app import create_app
from http_api.auth import issue_token
from shared.ids import order_id_for_payment
from tests.flowkit import payment
from tests.integration.scenario import Scenario, build, core_order_view, event_view, order_view


def settle(stack: Stack, scenario: Scenario, timeout: float = 180) -> None:
    """Wait until every order is stored and every outcome recorded, its order stored too."""
    requests = {r["requestId"] for r in scenario.refunds + scenario.updates}
    ids = scenario.order_ids
    missing: dict[str, object] = {}

    def done() -> bool:
        revisions = {d["_id"]: d["revision"] for d in stack.orders.find({"_id": {"$in": ids}}, {"revision": 1})}
        records = list(stack.records.find({"orderId": {"$in": ids}}, {"requestId": 1, "orderId": 1, "seq": 1}))
        missing["orders"] = len(ids) - len(revisions)
        missing["requests"] = sorted(requests - {r["requestId"] for r in records})[:5]
        missing["behind"] = sorted({r["orderId"] for r in records if revisions.get(r["orderId"], 0) < r["seq"]})[:5]
        return not (missing["orders"] or missing["requests"] or missing["behind"])

    try:
        stack.wait_for(done, timeout, "every order and outcome")
    except TimeoutError as exc:
        raise TimeoutError(f"still missing: {missing}") from exc


def assert_matches_core(stack: Stack, scenario: Scenario) -> None:
    expected = scenario.expect()
    stored = {d["_id"]: order_view(d) for d in stack.orders.find({"_id": {"$in": scenario.order_ids}})}
    assert stored == {i: core_order_view(o) for i, o in expected.orders.items()}
    n_events = len(expected.events)
    emitted = stack.consume(stack.topics.order_events.name, lambda ms: len({m["eventId"] for m in ms}) >= n_events)
    assert {m["eventId"]: event_view(m) for m in emitted} == expected.events
    moves = stack.consume(
        stack.topics.quantity_update.name, lambda ms: {m["eventId"] for m in ms} >= expected.stock_ids
    )
    assert {m["eventId"] for m in moves} == expected.stock_ids
    assert _stock(moves) == expected.stock


def _recorded(stack: Stack) -> int:
    return stack.records.count_documents({})  # a payment leaves no record: its order is its record


def _recorded_past(stack: Stack, before: int) -> bool:
    return _recorded(stack) > before


def _stock(messages: list[dict]) -> dict[str, int]:
    unique = {m["eventId"]: m for m in messages}.values()
    totals: Counter[str] = Counter()
    for m in unique:
        totals[m["productId"]] += m["delta"]
    return dict(totals)


def test_f1_kill_9_at_random_moments_loses_and_doubles_nothing(stack: Stack, tmp_path):
    rng = random.Random(7)
    scenario = build(400, seed=1)
    recovery = tmp_path / "recovery"
    stack.produce(stack.topics.payment_accepted.name, [(p["paymentId"], p) for p in scenario.payments])
    flow = stack.start_flow(recovery=recovery)
    stack.wait_for(lambda: stack.orders.count_documents({}) == len(scenario.payments), 120, "orders")
    requests = [(stack.topics.refund_request.name, r) for r in scenario.refunds]
    requests += [(stack.topics.order_update_request.name, u) for u in scenario.updates]
    rng.shuffle(requests)
    chunks = [requests[i::5] for i in range(5)]
    for chunk in chunks:  # five rounds: stream a chunk in, kill -9 while it is being applied, resume
        before = _recorded(stack)
        for topic, body in chunk:
            stack.produce(topic, [(body["orderId"], body)])
        stack.wait_for(partial(_recorded_past, stack, before), 60, "progress")
        time.sleep(rng.uniform(0, 0.2))
        stack.kill_flow(flow, signal.SIGKILL)
        flow = stack.start_flow(recovery=recovery)
    settle(stack, scenario)
    assert_matches_core(stack, scenario)


def test_f2_duplicates_and_disorder_change_nothing(stack: Stack):
    rng = random.Random(11)
    scenario = build(300, seed=2)
    stack.start_flow(workers=2)
    payments = [p for p in scenario.payments for _ in range(rng.randint(1, 3))]
    rng.shuffle(payments)
    stack.produce(stack.topics.payment_accepted.name, [(p["paymentId"], p) for p in payments])
    stack.wait_for(lambda: stack.orders.count_documents({}) == len(scenario.payments), 120, "orders")
    requests = [(stack.topics.refund_request.name, r) for r in scenario.refunds for _ in range(rng.randint(1, 3))]
    requests += [
        (stack.topics.order_update_request.name, u) for u in scenario.updates for _ in range(rng.randint(1, 3))
    ]
    rng.shuffle(requests)
    for topic, body in requests:
        # A random key spreads copies of one request over partitions: no order is promised.
        stack.produce(topic, [(str(rng.random()), body)])
    settle(stack, scenario)
    assert_matches_core(stack, scenario)


async def test_f3_concurrent_partial_refunds_of_one_line_never_refund_more_than_bought(aiohttp_client, stack: Stack):
    stack.start_flow()
    pid = "contended"
    stack.produce(
        stack.topics.payment_accepted.name,
        [(pid, payment(pid, products=[{"productId": "apple", "quantity": 50, "price": 2}], totalPrice=100))],
    )
    order_id = order_id_for_payment(pid)
    await asyncio.to_thread(stack.wait_for, lambda: stack.orders.find_one({"_id": order_id}) is not None, 60, "order")
    unlimited = replace(stack.settings, rate_limit_mutations=None)  # 100 at once from one user is the point
    api = await aiohttp_client(create_app(unlimited))
    headers = {"Authorization": f"Bearer {issue_token(JWT_SECRET, 'user-1', [])}"}
    url = f"/api/order/{order_id}/refund-product?timeout=30"

    async def one() -> tuple[int, str]:
        response = await api.post(url, json={"productId": "apple", "quantity": 1}, headers=headers)
        body = await response.json()
        return response.status, response.headers.get("X-Request-Id") or body.get("requestId")

    results = await asyncio.gather(*(one() for _ in range(100)))
    statuses = Counter(status for status, _ in results)
    assert statuses == {200: 50, 409: 50}
    doc = stack.orders.find_one({"_id": order_id})
    assert doc["products"][0]["refundedQuantity"] == 50
    assert doc["refunded"] is True
    assert str(doc["refundedAmount"]) == "100.00"
    assert doc["version"] == 51
    request_ids = {rid for _, rid in results}
    assert len(request_ids) == 100
    events = stack.consume(
        stack.topics.order_events.name, lambda ms: len({m.get("requestId") for m in ms} & request_ids) == 100
    )
    outcomes = Counter(m["requestId"] for m in {m["eventId"]: m for m in events}.values() if m.get("requestId"))
    assert set(outcomes) == request_ids
    assert set(outcomes.values()) == {1}


class _Stream(threading.Thread):
    """Produces the payments evenly over ``seconds``. A chunk the broker failed to take
    (it may be restarting) is sent again with a new producer: payments are idempotent."""

    def __init__(self, stack: Stack, scenario: Scenario, seconds: float):
        super().__init__(daemon=True)
        self._stack, self._payments, self._seconds = stack, scenario.payments, seconds
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            batch = max(1, len(self._payments) // 40)
            for i in range(0, len(self._payments), batch):
                self._send([(p["paymentId"], p) for p in self._payments[i : i + batch]])
                time.sleep(self._seconds / 40)
        except BaseException as exc:  # reported by finish()
            self.error = exc

    def _send(self, items: list) -> None:
        for attempt in range(5):
            try:
                self._stack.produce(self._stack.topics.payment_accepted.name, items)
                return
            except AssertionError:
                if attempt == 4:
                    raise
                self._stack.reconnect()
                time.sleep(1)

    def finish(self) -> None:
        self.join()
        if self.error is not None:
            raise AssertionError(f"payments could not all be produced: {self.error}") from self.error


def _stream(stack: Stack, scenario: Scenario, seconds: float) -> _Stream:
    stream = _Stream(stack, scenario, seconds)
    stream.start()
    return stream


def restart_mid_stream(stack: Stack, server, seed: int) -> None:
    """Stream payments in, stop ``server`` for a while once orders flow, then settle."""
    scenario = Scenario(build(600, seed=seed).payments, [], [])
    stack.start_flow()
    producer = _stream(stack, scenario, 4)
    stack.wait_for(lambda: stack.orders.count_documents({}) > 50, 60, "the first orders")
    server.stop()
    time.sleep(1.5)
    server.start()
    producer.finish()
    settle(stack, scenario, timeout=240)
    assert_matches_core(stack, scenario)


@pytest.mark.restarts_servers
def test_f4_the_mongo_server_restarting_mid_stream_loses_nothing(stack: Stack, servers):
    restart_mid_stream(stack, servers.mongo, seed=4)


@pytest.mark.restarts_servers
@pytest.mark.apache_only
def test_f4_the_kafka_broker_restarting_mid_stream_loses_nothing(stack: Stack, servers):
    restart_mid_stream(stack, servers.kafka, seed=5)
