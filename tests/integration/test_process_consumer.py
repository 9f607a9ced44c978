"""One Kafka consumer shared by a process's input partitions (dataflows.process_consumer),
on a real broker: each partition gets its own messages in order whoever fetched them,
resumes where it handed on, and reads on when another partition closes."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Producer

from dataflows.process_consumer import ProcessConsumer, SharedPartition
from dataflows.setup import ensure_topics
from shared.kafka_config import KafkaConnection

BATCH = 3  # small, so one poll sorts another partition's messages too


def topic_of(servers, partitions: int = 2) -> tuple[KafkaConnection, str]:
    kafka = KafkaConnection((servers.kafka_uri,))
    topic = f"shared-{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka, (topic,), partitions)
    return kafka, topic


def produce(kafka: KafkaConnection, topic: str, partition: int, values: list[str]) -> None:
    producer = Producer(kafka.producer(linger_ms=5))
    for value in values:
        producer.produce(topic, value.encode(), partition=partition)
    assert producer.flush(30) == 0


def shared_consumer(kafka: KafkaConnection) -> ProcessConsumer:
    config = {"group.id": "BYTEWAX_IGNORED", "enable.auto.commit": "false", **kafka.client()}
    return ProcessConsumer(config, BATCH)


def read(partition: SharedPartition, count: int, timeout_s: float = 30) -> list[str]:
    got: list[str] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < count and time.monotonic() < deadline:
        got += [item.value.decode() for item in partition.next_batch()]
        time.sleep(0.01)
    return got


def test_each_partition_gets_its_own_messages_in_order_whoever_fetched_them(servers):
    kafka, topic = topic_of(servers)
    produce(kafka, topic, 0, [f"a{i}" for i in range(10)])
    produce(kafka, topic, 1, [f"b{i}" for i in range(10)])
    shared = shared_consumer(kafka)
    first, second = (SharedPartition(shared, "in", topic, i, -2, BATCH) for i in (0, 1))
    try:
        assert read(first, 10) == [f"a{i}" for i in range(10)]
        assert read(second, 10) == [f"b{i}" for i in range(10)]
    finally:
        first.close()
        second.close()


def test_a_resume_starts_after_what_was_handed_on_not_after_what_was_fetched(servers):
    kafka, topic = topic_of(servers)
    produce(kafka, topic, 0, [f"a{i}" for i in range(10)])
    shared = shared_consumer(kafka)
    partition = SharedPartition(shared, "in", topic, 0, -2, BATCH)
    handed_on = read(partition, 4)
    resume_at = partition.snapshot()
    partition.close()
    again = SharedPartition(shared_consumer(kafka), "in", topic, 0, resume_at, BATCH)
    try:
        assert handed_on + read(again, 10 - len(handed_on)) == [f"a{i}" for i in range(10)]
    finally:
        again.close()


def test_closing_one_partition_leaves_the_others_reading(servers):
    kafka, topic = topic_of(servers)
    shared = shared_consumer(kafka)
    first, second = (SharedPartition(shared, "in", topic, i, -2, BATCH) for i in (0, 1))
    first.close()
    produce(kafka, topic, 0, ["gone"])
    produce(kafka, topic, 1, ["b0", "b1"])
    try:
        assert read(second, 2) == ["b0", "b1"]
    finally:
        second.close()
