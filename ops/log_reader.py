"""Read a topic from its first retained message (or a time) to its end."""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, TopicPartition

from ops.progress import progress
from shared.kafka_config import KafkaConnection

PROGRESS_EVERY = 5_000


def read_topic(kafka: KafkaConnection, topic: str, show_progress: bool = True) -> Iterator[dict[str, Any]]:
    """Every message value of ``topic`` as JSON (numbers with decimals as Decimal), in
    each partition's order, until each partition's end."""
    for msg in read_messages(kafka, topic, show_progress=show_progress):
        value = msg.value()
        if value is not None:
            yield json.loads(value, parse_float=Decimal)


def read_messages(
    kafka: KafkaConnection, topic: str, since_ms: int | None = None, show_progress: bool = True
) -> Iterator[Message]:
    """Every message of ``topic`` (from the first with a timestamp at or after ``since_ms``,
    else from the first retained), in each partition's order, until each partition's end
    (the broker's end-of-partition signal: Tansu's high watermark falls short of the end,
    its fetches do not)."""
    consumer = Consumer(
        kafka.client(
            **{
                "group.id": f"order-service-reader-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
            }
        )
    )
    try:
        partitions = list(consumer.list_topics(topic, timeout=30).topics[topic].partitions)
        starts = [TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions]
        if since_ms is not None:
            asked = [TopicPartition(topic, p, since_ms) for p in partitions]
            starts = [TopicPartition(topic, tp.partition, tp.offset) for tp in consumer.offsets_for_times(asked, 30)]
        total = 0  # for the progress bar only
        for tp in starts:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=30)
            total += max(high - max(low, tp.offset), 0)
        consumer.assign(starts)
        yield from _until_ends(consumer, set(partitions), total, show_progress)
    finally:
        consumer.close()


def _until_ends(consumer: Consumer, partitions: set[int], total: int, show: bool) -> Iterator[Message]:
    started = time.monotonic()
    done = 0
    left = set(partitions)
    while left:
        for msg in consumer.consume(1000, 1.0):
            error = msg.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    left.discard(msg.partition())
                    continue
                raise KafkaException(error)
            yield msg
            done += 1
            if show and done % PROGRESS_EVERY == 0:
                progress(done, max(total, done), started)
    if show and done >= PROGRESS_EVERY:
        progress(done, done, started)
        sys.stderr.write("\n")
