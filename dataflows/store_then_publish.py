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

import logging
import time
from dataclasses import dataclass
from typing import Any

from bytewax.outputs import DynamicSink, StatelessSinkPartition

from dataflows import flow_metrics
from dataflows.kafka_io import MessagePublisher
from dataflows.mongo_io import orders_collection, records_collection, write_orders, write_records
from shared import tracing
from shared.faults import NO_FAULTS, FaultPoints
from shared.kafka_config import KafkaConnection
from shared.step import Writes
from shared.storage import read_record

log = logging.getLogger(__name__)


class _Partition(StatelessSinkPartition[Writes]):
    def __init__(self, settings: SinkSettings):
        self._orders = orders_collection(settings.mongo_uri)
        self._records = records_collection(settings.mongo_uri)
        self._publisher = MessagePublisher(settings.kafka, settings.message_timeout_ms)
        self._faults = settings.faults

    def write_batch(self, items: list[Writes]) -> None:
        """The orders, then the records, then the messages (the module's docstring says why)."""
        records = [r for e in items for r in e.records]
        docs = [e.doc for e in items if e.doc is not None]
        messages = [m for e in items for m in e.messages]
        traced = tracing.on() and any(e.trace for e in items)
        stored_from = time.time_ns() if traced else 0
        _timed("orders", write_orders, self._orders, docs, records)
        self._fault("after-orders", docs)
        _timed("records", write_records, self._records, records)
        self._fault("after-records", docs)
        if traced:
            self._publish_traced(items, stored_from, time.time_ns())
        else:
            _timed("kafka", self._publisher.publish, messages)
        self._fault("after-produce", docs)
        _count(items, len(docs))
        _log_outcomes(records)

    def _fault(self, point: str, docs: list[dict[str, Any]]) -> None:
        if docs:  # a batch of dead letters alone stores nothing to fail between
            self._faults.fire(point)

    def _publish_traced(self, items: list[Writes], stored_from: int, stored_to: int) -> None:
        """The batch's Mongo writes as a ``store`` span in each traced command's trace, and
        its messages sent under a ``publish`` span whose ``traceparent`` they carry."""
        from opentelemetry.trace import SpanKind

        tracer = tracing.tracer()
        spans, messages, headers = [], [], []
        for e in items:
            parent = tracing.parent_from(e.trace) if e.trace else None
            carried = None
            if parent is not None:
                tracer.start_span("store", context=parent, start_time=stored_from).end(end_time=stored_to)
                span = tracer.start_span("publish", context=parent, kind=SpanKind.PRODUCER)
                spans.append(span)
                carried = tracing.kafka_headers(tracing.context_of(span))
            messages += e.messages
            headers += [carried] * len(e.messages)
        try:
            _timed("kafka", self._publisher.publish, messages, headers)
        finally:
            for span in spans:
                span.end()

    def close(self) -> None:
        self._publisher.close()


def _count(items: list[Writes], orders: int) -> None:
    """The batch's metrics, from what each step says it did (``Writes.counted``, ``dead``)."""
    for e in items:
        for m in e.messages:
            flow_metrics.EVENTS.labels(m.topic).inc()
    outcomes = [c for e in items for c in e.counted]
    flow_metrics.record_batch(outcomes, orders, [d for e in items for d in e.dead])


def _log_outcomes(records: list[dict[str, Any]]) -> None:
    """A line a request decided, once stored and published (again after a replay)."""
    if not log.isEnabledFor(logging.INFO):
        return
    for view in map(read_record, records):
        fields: dict[str, Any] = {"requestId": view.request_id, "orderId": view.order_id, "revision": view.revision}
        if view.reason:
            fields["reason"] = view.reason
        log.info("%s %s", view.label, "rejected" if view.rejected else "applied", extra=fields)


def _timed(target: str, write, *args: Any) -> None:
    started = time.perf_counter()
    write(*args)
    flow_metrics.WRITE_SECONDS.labels(target).observe(time.perf_counter() - started)


@dataclass(frozen=True)
class SinkSettings:
    mongo_uri: str
    kafka: KafkaConnection
    message_timeout_ms: int | None = None
    faults: FaultPoints = NO_FAULTS  # the fault tests' points (shared.faults), armed by the flow's wiring


class StoreThenPublishSink(DynamicSink[Writes]):
    def __init__(self, settings: SinkSettings):
        self._settings = settings

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _Partition:
        return _Partition(self._settings)
