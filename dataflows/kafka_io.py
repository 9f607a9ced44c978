"""Kafka around the dataflow: a source that hands errors on, a sink that checks delivery."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from bytewax.connectors.kafka import KafkaSource, KafkaSourceMessage
from bytewax.inputs import StatefulSourcePartition
from confluent_kafka import Consumer, KafkaException, Producer, TopicCollection, TopicPartition
from confluent_kafka.admin import AdminClient

from dataflows.flow_metrics import SNAPSHOTS, liveness
from dataflows.process_consumer import BrokerFirstOffsets, ProcessConsumer, SharedPartition
from dataflows.resume import (
    Fingerprint,
    PartitionFacts,
    ResumePoint,
    as_resume_point,
    fingerprint,
    mismatch,
    mismatch_error,
)
from shared.faults import NO_FAULTS, FaultPoints
from shared.kafka_config import KafkaConnection
from shared.schemas.outputs import OutMessage

log = logging.getLogger(__name__)

STATS_INTERVAL_MS = 2_000
# A partition that had messages this recently polls again after KAFKA_IDLE_POLL_MS, not
# later: a message between two of a busy partition's messages waits 2 ms, not 32.
BUSY_S = 1.0


def kafka_source(
    kafka: KafkaConnection,
    topics: Sequence[str],
    batch_size: int,
    fetch_wait_ms: int,
    idle_poll_ms: float,
    idle_poll_most_ms: float = 0,
    group_id: str | None = None,
    faults: FaultPoints = NO_FAULTS,
) -> KafkaSource:
    # Errors come into the flow (raise_on_errors=False) and go to the dead-letter topic.
    # The fetch wait costs no latency where the broker answers a fetch when data arrives
    # (Apache Kafka) and spares it an idle consumer's fetches (KAFKA_FETCH_WAIT_MS).
    # An offset the partition no longer has (a topic made again while the flow runs)
    # restarts from its beginning rather than its end: replays are harmless, skips are not.
    # librdkafka's statistics feed bytewax's consumer-lag gauge (dataflows.flow_metrics).
    config = kafka.client(
        **{
            "fetch.wait.max.ms": str(fetch_wait_ms),
            "auto.offset.reset": "earliest",
            "statistics.interval.ms": str(STATS_INTERVAL_MS),
        }
    )
    return PromptKafkaSource(
        list(kafka.brokers),
        list(topics),
        batch_size=batch_size,
        raise_on_errors=False,
        add_config=config,
        idle_poll=timedelta(milliseconds=idle_poll_ms),
        idle_poll_most=timedelta(milliseconds=idle_poll_most_ms),
        kafka=kafka,
        group_id=group_id,
        faults=faults,
    )


class PromptKafkaSource(KafkaSource):
    """bytewax's KafkaSource, with one consumer a process, polls that do not wait and
    resumes that are checked.

    bytewax's partitions each have a consumer (``dataflows.process_consumer`` says
    what that costs) and wait up to 1 ms in every poll, one partition after the
    other; with one per topic and partition (12 at the defaults) a message waited
    for most of an idle round, the larger part of a refund's time in the flow.
    Here a poll returns at once, and a partition that found nothing asks to be
    polled again after ``idle_poll``, doubled after each empty poll up to ``idle_poll_most``,
    so an idle flow sleeps.

    Each partition's snapshot is a ``ResumePoint``; a resume on input other than
    the one the recovery store was made against raises ``ResumeMismatch``."""

    def __init__(
        self,
        *args: Any,
        idle_poll: timedelta,
        kafka: KafkaConnection,
        idle_poll_most: timedelta = timedelta(0),
        facts: PartitionFacts | None = None,
        group_id: str | None = None,
        faults: FaultPoints = NO_FAULTS,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self._group_id = group_id
        self._faults = faults
        self._kafka = kafka
        self._idle_poll = idle_poll
        self._idle_poll_most = idle_poll_most
        self._facts = facts
        self._shared: ProcessConsumer | None = None
        self._shared_lock = threading.Lock()

    def build_part(  # type: ignore[override]  # a partition of our own, not bytewax's private one
        self, step_id: str, for_part: str, resume_state: ResumePoint | int | None
    ) -> PromptPartition:
        point = as_resume_point(resume_state)
        index, topic = for_part.split("-", 1)
        facts = self._broker_facts()
        if point is not None:
            reason = mismatch(facts, topic, int(index), point)
            if reason is not None:
                raise mismatch_error(reason, _recovery_dir())
        offset = self._starting_offset if point is None else point.offset
        inner = SharedPartition(self._process_consumer(), step_id, topic, int(index), offset, self._batch_size)
        last = None if point is None else point.last
        liveness().reading()
        return PromptPartition(inner, self._idle_poll, facts.topic_id(topic), last, self._idle_poll_most, self._faults)

    def _process_consumer(self) -> ProcessConsumer:
        """The process's consumer: this source is shared by the process's worker threads."""
        with self._shared_lock:
            if self._shared is None:
                # Offsets are kept by recovery; the group only shows them to monitoring tools.
                config = {
                    "group.id": self._group_id or "BYTEWAX_IGNORED",
                    "enable.auto.commit": "false",
                    "bootstrap.servers": ",".join(self._brokers),
                    "enable.partition.eof": str(not self._tail),
                    **self._add_config,
                }
                commits = self._group_id is not None
                first = BrokerFirstOffsets(self._kafka.client()) if commits else None
                self._shared = ProcessConsumer(config, self._batch_size, commits=commits, first_offsets=first)
            return self._shared

    def _broker_facts(self) -> PartitionFacts:
        if self._facts is None:
            self._facts = BrokerFacts(self._kafka, list(self._topics))
        return self._facts


def _recovery_dir() -> str | None:
    """The recovery directory ``bytewax.run`` was given, to name it in errors."""
    args = sys.argv
    for flag in ("-r", "--recovery-directory"):
        if flag in args[:-1]:
            return args[args.index(flag) + 1]
    return os.environ.get("BYTEWAX_RECOVERY_DIRECTORY")


class BrokerFacts:
    """What the broker says about the input partitions, asked once a process."""

    def __init__(self, kafka: KafkaConnection, topics: list[str]):
        self._config = kafka.client()
        self._topics = topics
        self._ids: dict[str, str | None] | None = None

    def topic_id(self, topic: str) -> str | None:
        if self._ids is None:
            admin = AdminClient(self._config)
            found = admin.describe_topics(TopicCollection(self._topics))
            self._ids = {}
            for name, future in found.items():
                try:
                    self._ids[name] = str(future.result(timeout=30).topic_id)
                except KafkaException as exc:
                    log.warning("no topic id for %s: %s", name, exc)
                    self._ids[name] = None
        return self._ids.get(topic)

    def watermarks(self, topic: str, partition: int) -> tuple[int, int]:
        consumer = Consumer({**self._config, "group.id": "order-service-resume-check"})
        try:
            return consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=30)
        finally:
            consumer.close()

    def fingerprint_at(self, topic: str, partition: int, offset: int) -> Fingerprint | None:
        consumer = Consumer({**self._config, "group.id": "order-service-resume-check"})
        try:
            consumer.assign([TopicPartition(topic, partition, offset)])
            for msg in consumer.consume(1, 10):
                if msg.error() is None and msg.offset() == offset:
                    return fingerprint(offset, msg.timestamp()[1], msg.key(), msg.value())
            return None
        finally:
            consumer.close()


class PromptPartition(StatefulSourcePartition):
    def __init__(
        self,
        inner: StatefulSourcePartition,
        idle_poll: timedelta,
        topic_id: str | None = None,
        last: Fingerprint | None = None,
        idle_poll_most: timedelta = timedelta(0),
        faults: FaultPoints = NO_FAULTS,
    ):
        self._inner = inner
        self._faults = faults
        self._first_wait = idle_poll
        self._most_wait = max(idle_poll, idle_poll_most)
        self._wait = idle_poll
        self._busy_until = 0.0  # monotonic: till then an empty poll keeps the first wait
        self._awake: datetime | None = None
        self._topic_id = topic_id
        self._last = last
        self._last_message: KafkaSourceMessage | None = None

    def next_batch(self) -> list:
        """A partition that found nothing waits before its next poll: ``idle_poll`` while it
        had messages within ``BUSY_S`` (traffic in gaps), then twice as long after each empty
        poll, up to ``idle_poll_most`` (an idle flow sleeps); after messages, at once."""
        batch = cast(list, self._inner.next_batch())  # bytewax's partition hands over a list
        now = time.monotonic()
        if batch:
            self._wait, self._awake, self._busy_until = self._first_wait, None, now + BUSY_S
        else:
            self._awake = datetime.now(UTC) + self._wait
            if now >= self._busy_until:
                self._wait = min(self._wait * 2, self._most_wait)
        if batch and isinstance(batch[-1], KafkaSourceMessage):
            self._last_message = batch[-1]
        return batch

    def next_awake(self) -> datetime | None:
        return self._awake

    def snapshot(self) -> ResumePoint:
        SNAPSHOTS.inc()
        liveness().progressed()  # bytewax snapshots a partition when the cluster closes an epoch
        msg = self._last_message
        if msg is not None:
            self._faults.fire("before-commit")  # handed on messages whose resume point is not yet stored
        if msg is not None and msg.offset is not None:
            stamp = msg.timestamp[1] if msg.timestamp else -1
            self._last = fingerprint(msg.offset, stamp, msg.key, msg.value)
            self._last_message = None
        return ResumePoint(self._inner.snapshot(), self._topic_id, self._last)

    def close(self) -> None:
        self._inner.close()


class MessagePublisher:
    """Produces each message to its own topic; acks=all, idempotent, delivery checked."""

    def __init__(self, kafka: KafkaConnection, timeout_ms: int | None = None):
        self._producer = Producer(kafka.producer(linger_ms=5, timeout_ms=timeout_ms))

    def publish(self, items: list[OutMessage], headers: list[list[tuple[str, bytes]] | None] | None = None) -> None:
        """``headers``: each item's Kafka headers (its trace's ``traceparent``), when any."""
        failures: list[str] = []

        def delivered(err, msg) -> None:
            if err is not None:
                failures.append(f"{msg.topic()}: {err}")

        for i, item in enumerate(items):
            key, value = item.encode()
            carried = headers[i] if headers is not None else None
            while True:
                try:
                    self._producer.produce(item.topic, value, key, on_delivery=delivered, headers=carried)  # type: ignore[arg-type]
                    break
                except BufferError:
                    self._producer.poll(0.05)
            self._producer.poll(0)
        self._producer.flush()
        if failures:
            # Crash rather than lose output: recovery replays this epoch.
            raise KafkaException(f"{len(failures)} messages not delivered, first: {failures[0]}")

    def close(self) -> None:
        self._producer.flush(30)
