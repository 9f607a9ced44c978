"""Kafka around the dataflow: a source that hands errors on, a sink that checks delivery."""

from __future__ import annotations

import logging

from bytewax.connectors.kafka import KafkaSource
from bytewax.outputs import DynamicSink, StatelessSinkPartition
from confluent_kafka import KafkaException, Producer

from shared.schemas.outputs import OutMessage

log = logging.getLogger(__name__)

PRODUCER_CONFIG = {
    "acks": "all",
    "enable.idempotence": True,
    "linger.ms": 5,
    "compression.type": "lz4",
    "message.timeout.ms": 120_000,
}


def kafka_source(brokers: list[str], topics: tuple[str, ...], batch_size: int, fetch_wait_ms: int) -> KafkaSource:
    # Errors come into the flow (raise_on_errors=False) and go to the dead-letter topic.
    # A short fetch wait bounds latency on brokers that hold a fetch for its whole wait.
    config = {"fetch.wait.max.ms": str(fetch_wait_ms)}
    return KafkaSource(brokers, list(topics), batch_size=batch_size, raise_on_errors=False, add_config=config)


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
