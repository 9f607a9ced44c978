"""B6: what an order costs after 10,000 requests that change nothing.

One order is refunded, then refunded again 10,000 times (each a new request on
``refund-request``, as a producer that retries without an Idempotency-Key would
send them) while the flow runs. After each quarter: the order's stored size (its
document and its records) and the dataflow's RSS. Flat means none of them grows
with the count; the baseline is the figure after the first refund.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import bson

from bench.b4_memory import rss_mb
from bench.results import Result
from devkit.samples import payment, refund
from devkit.sandbox import Stack
from shared.ids import order_id_for_payment

REPEATS = 10_000
STEPS = 4


def stored_bytes(stack: Stack, order_id: str) -> int:
    doc = stack.orders.find_one({"_id": order_id})
    records = stack.records.find({"orderId": order_id})
    assert doc is not None, f"order {order_id} not stored"
    return len(bson.encode(doc)) + sum(len(bson.encode(r)) for r in records)


def run(kafka_uri: str, mongo_uri: str, workdir: Path, log) -> list[Result]:
    stack = Stack(kafka_uri, mongo_uri, workdir / "b6")
    try:
        order_id = order_id_for_payment("b6")
        stack.produce(stack.topics.payment_accepted.name, [("b6", payment("b6"))])
        flow = stack.start_flow()
        stack.wait_for(lambda: stack.orders.find_one({"_id": order_id}) is not None, 120, "the order")
        topic = stack.topics.refund_request.name
        stack.produce(topic, [(order_id, refund("b6-first", order_id))])
        stack.wait_for(
            lambda: stack.orders.find_one({"_id": order_id, "status": "Refunded"}) is not None, 120, "the refund"
        )
        time.sleep(1)
        base_bytes, base_rss = stored_bytes(stack, order_id), rss_mb(flow.pid)
        samples = []
        per_step = REPEATS // STEPS
        for step in range(STEPS):
            ids = [f"b6-again-{step}-{i}" for i in range(per_step)]
            stack.produce(topic, [(order_id, refund(rid, order_id)) for rid in ids])
            last = ids[-1]
            stack.consume(stack.topics.order_events.name, _has_request(last), 300)
            samples.append((stored_bytes(stack, order_id), rss_mb(flow.pid)))
            log(f"    B6: {(step + 1) * per_step} repeats: stored {samples[-1][0]} bytes, RSS {samples[-1][1]:.0f} MB")
        return [
            Result(
                "B6 one order's stored bytes after 10,000 no-op refunds",
                samples[-1][0],
                "bytes",
                base_bytes,
                "ratio <= 1.0",
                f"order + records; baseline: after its first refund; quarters: {[s[0] for s in samples]}",
            ),
            Result(
                "B6 dataflow RSS after 10,000 no-op refunds of one order",
                samples[-1][1],
                "MB",
                base_rss,
                "ratio <= 1.2",
                f"baseline: after the first refund; quarters: {[round(s[1]) for s in samples]} MB",
            ),
        ]
    finally:
        stack.close()


def _has_request(request_id: str) -> Callable[[list[dict]], bool]:
    return lambda messages: any(m.get("requestId") == request_id for m in messages)
