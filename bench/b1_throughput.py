"""B1: dataflow throughput against a naive per-message consumer and the raw limits."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from confluent_kafka import Consumer, Producer, TopicPartition

from bench.cpu import cpu_seconds
from bench.results import Result
from dataflows.mongo_io import ensure_indexes
from devkit.samples import payment
from devkit.sandbox import Stack
from devkit.servers import free_port
from shared.domain import AcceptPayment, Order, RefundProduct, handle
from shared.schemas.event_codec import event_payload
from shared.schemas.messages import parse_message
from shared.schemas.outputs import dumps
from shared.storage import order_to_doc
from shared.topics import Kind

TS = 1_760_000_000_000


def payments(n: int, tag: str) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        body = payment(f"{tag}-{i}", user=f"user-{i % 1000}")
        out.append((body["paymentId"], json.dumps(body).encode()))
    return out


def preload(stack: Stack, messages: list[tuple[str, bytes]]) -> None:
    produce_all(stack.settings.kafka_uri or "", stack.topics.payment_accepted.name, messages)


def produce_all(kafka_uri: str, topic: str, messages: list[tuple[str, bytes]]) -> None:
    """As fast as the producer takes them, waiting for room when its queue is full."""
    producer = Producer({"bootstrap.servers": kafka_uri, "linger.ms": 20, "batch.size": 1_000_000})
    for key, value in messages:
        while True:
            try:
                producer.produce(topic, value, key.encode())
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(120)


class EventCount:
    """How many order events the flow has emitted, counted by reading the topic.

    Progress is watched on Kafka, not by counting documents: a count is a collection
    scan on SecantusDB, and polling it would take the server's time from the flow.
    (Tansu's high watermarks count batches, not records, so the records are read.)"""

    def __init__(self, stack: Stack):
        self.consumer = Consumer(
            {"bootstrap.servers": stack.settings.kafka_uri, "group.id": "bench-progress", "enable.auto.commit": False}
        )
        topic = stack.topics.order_events.name
        parts = self.consumer.list_topics(topic, timeout=10).topics[topic].partitions
        self.consumer.assign([TopicPartition(topic, p, -2) for p in parts])
        self.seen = 0

    def __call__(self) -> int:
        while batch := self.consumer.consume(10_000, 0.01):
            self.seen += sum(1 for msg in batch if msg.error() is None)
        return self.seen

    def close(self) -> None:
        self.consumer.close()


def progress(count: Callable[[], int], n: int, log, what: str, every: float = 15) -> Callable[[], bool]:
    """A check that ``count()`` reached ``n``, logging how far it is now and then."""
    last = time.monotonic()

    def check() -> bool:
        nonlocal last
        done = count()
        if done < n and time.monotonic() - last >= every:
            log(f"    {done:,} of {n:,} {what}")
            last = time.monotonic()
        return done >= n

    return check


def start_flows(stack: Stack, processes: int, workers: int = 1) -> None:
    if processes == 1:
        stack.start_flow(workers=workers)
    else:
        addresses = ";".join(f"127.0.0.1:{free_port()}" for _ in range(processes))
        for i in range(processes):
            stack.start_flow(workers=workers, cluster=(i, addresses))


def time_flow(stack: Stack, n: int, processes: int, log, workers: int = 1, cpu: dict[str, Any] | None = None) -> float:
    """Orders per second from the first order announced until every order is stored and announced
    (the process's start-up is left out, as the naive baseline's connecting is).

    ``cpu``: name -> process id in, name -> CPU-seconds used over the same span out;
    the dataflow's own processes are added as "flow-0", "flow-1", ... and their sum
    as "dataflow"."""
    start_flows(stack, processes, workers)
    emitted = EventCount(stack)
    stack.wait_for(lambda: emitted() > 0, timeout=300, what="a first order", interval=0.01)
    pids = {**(cpu or {}), **{f"flow-{i}": proc.pid for i, proc in enumerate(stack.flows)}}
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.perf_counter()
    stack.wait_for(progress(emitted, n, log, "orders announced"), timeout=3600, what=f"{n} order events", interval=0.05)
    emitted.close()
    stack.wait_for(lambda: stack.orders.estimated_document_count() >= n, timeout=600, what=f"{n} orders")
    elapsed = time.perf_counter() - started
    if cpu is not None:
        used = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
        cpu.clear()
        cpu.update(used)
        cpu["dataflow"] = sum(v for k, v in used.items() if k.startswith("flow-"))
    log(f"    flow {processes} process(es) x {workers} worker(s): {n} orders in {elapsed:.1f}s")
    for proc in list(stack.flows):
        stack.kill_flow(proc)
    return n / elapsed


def time_live(stack: Stack, messages: list[tuple[str, bytes]], log, processes: int = 1, workers: int = 1) -> float:
    """Orders per second while the payments are produced as fast as the producer can,
    to a flow already running and idle: live traffic, not a backlog. From the first
    payment sent until every order is stored and announced."""
    start_flows(stack, processes, workers)
    emitted = EventCount(stack)
    preload(stack, messages[:1])
    stack.wait_for(lambda: emitted() >= 1, timeout=300, what="the flow's first order", interval=0.01)
    started = time.perf_counter()
    preload(stack, messages[1:])
    n = len(messages)
    stack.wait_for(progress(emitted, n, log, "live orders announced"), timeout=3600, what=f"{n} events", interval=0.05)
    emitted.close()
    elapsed = time.perf_counter() - started
    log(f"    flow, live: {n - 1} orders in {elapsed:.1f}s")
    for proc in list(stack.flows):
        stack.kill_flow(proc)
    return (n - 1) / elapsed


def naive(stack: Stack, limit: int) -> float:
    """The original service's way: consume one, insert one, produce one, commit, repeat."""
    consumer = Consumer(
        {
            "bootstrap.servers": stack.settings.kafka_uri,
            "group.id": "naive-baseline",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([stack.topics.payment_accepted.name])
    producer = Producer({"bootstrap.servers": stack.settings.kafka_uri, "acks": "all"})
    orders = stack.orders.database["naive-orders"]
    done, started = 0, None
    while done < limit:
        msg = consumer.poll(5)
        if msg is None or msg.error():
            continue
        started = started or time.perf_counter()
        command = cast(AcceptPayment, parse_message(Kind.PAYMENT, msg.value(), TS).command)
        created, events = handle(None, command)
        order = cast(Order, created)
        orders.insert_one(order_to_doc(order))
        producer.produce(stack.topics.order_events.name, dumps(event_payload(events[0], order)), order.id.encode())
        producer.flush()
        consumer.commit(message=msg, asynchronous=False)
        done += 1
    consumer.close()
    assert started is not None  # ``limit`` orders were read
    return done / (time.perf_counter() - started)


def parse_rate(messages: list[tuple[str, bytes]]) -> float:
    started = time.perf_counter()
    for _, value in messages:
        parse_message(Kind.PAYMENT, value, TS)
    return len(messages) / (time.perf_counter() - started)


def pure_core(messages: list[tuple[str, bytes]], rounds: int = 3) -> float:
    """decide + apply on parsed commands, on one core: a creation and a partial refund per order.

    One untimed round first (the allocator's first touch of fresh memory is not the
    core's cost), then the median of ``rounds``."""
    payments = [cast(AcceptPayment, parse_message(Kind.PAYMENT, value, TS).command) for _, value in messages]

    def one_round() -> float:
        started = time.perf_counter()
        orders = cast(list[Order], [handle(None, command)[0] for command in payments])
        created = time.perf_counter() - started
        refunds = [RefundProduct(f"r-{o.id}", o.id, "apple", 1, None, o.created_at) for o in orders]
        started = time.perf_counter()
        for order, command in zip(orders, refunds, strict=True):
            handle(order, command)
        return (len(payments) + len(refunds)) / (created + time.perf_counter() - started)

    one_round()
    return statistics.median(one_round() for _ in range(rounds))


def raw_consume(stack: Stack, n: int) -> float:
    consumer = Consumer(
        {"bootstrap.servers": stack.settings.kafka_uri, "group.id": "raw", "enable.partition.eof": True}
    )
    topic = stack.topics.payment_accepted.name
    parts = consumer.list_topics(topic).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, -2) for p in parts])
    seen, eof, started = 0, 0, time.perf_counter()
    while eof < len(parts) and seen < n:
        for msg in consumer.consume(1000, 1.0):
            if msg.error():
                eof += 1
            else:
                seen += 1
    consumer.close()
    return seen / (time.perf_counter() - started)


def raw_insert(stack: Stack, messages: list[tuple[str, bytes]]) -> float:
    commands = [cast(AcceptPayment, parse_message(Kind.PAYMENT, v, TS).command) for _, v in messages]
    docs = [order_to_doc(cast(Order, handle(None, command)[0])) for command in commands]
    scratch = stack.orders.database["raw-insert"]
    ensure_indexes(scratch)
    started = time.perf_counter()
    for i in range(0, len(docs), 1000):
        scratch.insert_many(docs[i : i + 1000], ordered=False)
    return len(docs) / (time.perf_counter() - started)


def run(kafka_uri: str, mongo_uri: str, workdir: Path, n: int, naive_n: int, log) -> list[Result]:
    results: list[Result] = []
    one = Stack(kafka_uri, mongo_uri, workdir / "b1-one")
    messages = payments(n, "b1")
    log(f"  B1: preloading {n} payments")
    preload(one, messages)
    core = pure_core(messages)
    parsing = parse_rate(messages)
    consume = raw_consume(one, n)
    flow_one = time_flow(one, n, 1, log)
    insert = raw_insert(one, messages)
    baseline = naive(one, naive_n)
    one.close()
    two = Stack(kafka_uri, mongo_uri, workdir / "b1-two")
    preload(two, payments(n, "b1-two"))
    flow_two = time_flow(two, n, 2, log)
    two.close()
    live = Stack(kafka_uri, mongo_uri, workdir / "b1-live")
    flow_live = time_live(live, payments(n, "b1-live"), log)
    live.close()
    results += [
        Result("B1 live: flow while payments arrive vs preloaded", flow_live, "orders/s", flow_one, "ratio >= 0.7"),
        Result("B1 flow, 1 worker vs naive consumer", flow_one, "orders/s", baseline, "ratio >= 10"),
        Result("B1 flow, 1 worker vs raw insert_many", flow_one, "orders/s", insert, "ratio >= 0.5"),
        Result("B1 flow, 2 processes vs naive consumer", flow_two, "orders/s", baseline, "ratio >= 10"),
        Result(
            "B1 pure core (decide + apply)", core, "commands/s", None, "value >= 200000", "half creations, half refunds"
        ),
        Result("B1 parse + validate a payment", parsing, "messages/s", flow_one, "", "baseline: flow, 1 worker"),
        Result("B1 raw consume (confluent-kafka)", consume, "messages/s", flow_one, "", "baseline: flow, 1 worker"),
        Result(
            "B1 raw insert_many (same docs, same server)", insert, "docs/s", flow_one, "", "baseline: flow, 1 worker"
        ),
    ]
    return results
