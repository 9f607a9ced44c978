"""Kafka around the dataflow: a source that hands errors on, a sink that checks delivery."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from bytewax.connectors.kafka import KafkaSource
from bytewax.inputs import StatefulSourcePartition
from bytewax.outputs import DynamicSink, StatelessSinkPartition
from confluent_kafka import Consumer, KafkaException, Producer

from shared.schemas.outputs import OutMessage

log = logging.getLogger(__name__)

PRODUCER_CONFIG = {
    "acks": "all",
    "enable.idempotence": True,
    "linger.ms": 5,
    "compression.type": "lz4",
    "message.timeout.ms": 120_000,
}


def kafka_source(
    brokers: list[str], topics: tuple[str, ...], batch_size: int, fetch_wait_ms: int, idle_poll_ms: float
) -> KafkaSource:
    # Errors come into the flow (raise_on_errors=False) and go to the dead-letter topic.
    # A short fetch wait bounds latency on brokers that hold a fetch for its whole wait.
    config = {"fetch.wait.max.ms": str(fetch_wait_ms)}
    return PromptKafkaSource(
        brokers,
        list(topics),
        batch_size=batch_size,
        raise_on_errors=False,
        add_config=config,
        idle_poll=timedelta(milliseconds=idle_poll_ms),
    )


class PromptKafkaSource(KafkaSource):
    """bytewax's KafkaSource, with polls that do not wait.

    bytewax's partitions wait up to 1 ms in every poll, one partition after the
    other; with one per topic and partition (12 at the defaults) a message waited
    for most of an idle round, the larger part of a refund's time in the flow.
    Here a poll returns at once, and a partition that found nothing asks to be
    polled again after ``idle_poll``, so an idle flow stays idle."""

    def __init__(self, *args: Any, idle_poll: timedelta, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._idle_poll = idle_poll

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> PromptPartition:
        return PromptPartition(super().build_part(step_id, for_part, resume_state), self._idle_poll)


class _NoWait:
    """A consumer whose ``consume`` never blocks."""

    def __init__(self, consumer: Consumer):
        self._consumer = consumer

    def consume(self, num_messages: int, timeout: float) -> list:
        return self._consumer.consume(num_messages, 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._consumer, name)


class PromptPartition(StatefulSourcePartition):
    def __init__(self, inner: StatefulSourcePartition, idle_poll: timedelta):
        # bytewax 0.21.1 (pinned) hard-codes its 1 ms wait in the consume() call of its
        # partition; the partition's consumer is swapped for one that does not wait.
        inner._consumer = _NoWait(inner._consumer)  # type: ignore[attr-defined]
        self._inner = inner
        self._idle_poll = idle_poll
        self._awake: datetime | None = None

    def next_batch(self) -> list:
        batch = self._inner.next_batch()
        self._awake = None if batch else datetime.now(UTC) + self._idle_poll
        return batch

    def next_awake(self) -> datetime | None:
        return self._awake

    def snapshot(self) -> int | None:
        return self._inner.snapshot()

    def close(self) -> None:
        self._inner.close()


class _ProducerPartition(StatelessSinkPartition[OutMessage]):
    def __init__(self, producer: Producer):
        self._producer = producer

    def write_batch(self, items: list[OutMessage]) -> None:
        failures: list[str] = []

        def delivered(err, msg) -> None:
            if err is not None:
                failures.append(f"{msg.topic()}: {err}")

        for item in items:
            key, value = item.encode()
            while True:
                try:
                    self._producer.produce(item.topic, value, key, on_delivery=delivered)
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


class KafkaMessageSink(DynamicSink[OutMessage]):
    """Produces each message to its own topic; acks=all, idempotent, delivery checked."""

    def __init__(self, brokers: list[str], extra_config: dict | None = None):
        self._config = {"bootstrap.servers": ",".join(brokers), **PRODUCER_CONFIG, **(extra_config or {})}

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _ProducerPartition:
        return _ProducerPartition(Producer(self._config))
