"""The flow's one output: each batch's orders, then its request records, then its messages.

The order of the three writes is what makes a crash anywhere harmless:
- orders first, each carrying the records decided with it (``pending``): a crash
  before the records are stored leaves them in the order, and loading the order
  stores them (``MongoOrderLoader.load``), so a replayed request finds its record
  and a new one is decided against the order as it really is;
- records before messages, orders before both: an event on Kafka always describes
  a stored order and record, so a consumer of ``order-events``, or a reader of the
  records like the API's outcome watcher, reads its writes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bytewax.outputs import DynamicSink, StatelessSinkPartition

from dataflows import flow_metrics
from shared.schemas.outputs import OutMessage


@dataclass(frozen=True)
class Effects:
    """What one command does outside the flow: records and an order to store, then
    messages to send."""

    doc: dict[str, Any] | None
    messages: list[OutMessage]
    records: tuple[dict[str, Any], ...] = ()


class _Partition(StatelessSinkPartition[Effects]):
    def __init__(self, mongo_uri: str, brokers: list[str], dlq_topic: str | None):
        from dataflows.kafka_io import MessagePublisher
        from dataflows.mongo_io import orders_collection, records_collection

        self._orders = orders_collection(mongo_uri)
        self._records = records_collection(mongo_uri)
        self._publisher = MessagePublisher(brokers)
        self._dlq_topic = dlq_topic

    def write_batch(self, items: list[Effects]) -> None:
        from dataflows.mongo_io import write_orders, write_records

        records = [r for e in items for r in e.records]
        docs = [e.doc for e in items if e.doc is not None]
        messages = [m for e in items for m in e.messages]
        _timed("orders", write_orders, self._orders, docs, records)
        _timed("records", write_records, self._records, records)
        _timed("kafka", self._publisher.publish, messages)
        self._count(docs, records, messages)

    def _count(self, docs: list[dict[str, Any]], records: list[dict[str, Any]], messages: list[OutMessage]) -> None:
        outcomes = [(r["kind"], r["status"]) for r in records]
        outcomes += [("payment", "applied") for m in messages if m.value.get("type") == "OrderCreated"]
        dead = [(m.value["reason"], m.value["topic"] or "") for m in messages if m.topic == self._dlq_topic]
        for m in messages:
            flow_metrics.EVENTS.labels(m.topic).inc()
        flow_metrics.record_batch(outcomes, len(docs), dead)

    def close(self) -> None:
        self._publisher.close()


def _timed(target: str, write, *args: Any) -> None:
    started = time.perf_counter()
    write(*args)
    flow_metrics.WRITE_SECONDS.labels(target).observe(time.perf_counter() - started)


class StoreThenPublishSink(DynamicSink[Effects]):
    def __init__(self, mongo_uri: str, brokers: list[str], dlq_topic: str | None = None):
        self._mongo_uri = mongo_uri
        self._brokers = brokers
        self._dlq_topic = dlq_topic

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _Partition:
        return _Partition(self._mongo_uri, self._brokers, self._dlq_topic)
