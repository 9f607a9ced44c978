"""Read a topic from its first retained message to its end."""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from ops.progress import progress
from shared.kafka_config import KafkaConnection

PROGRESS_EVERY = 5_000


def read_topic(kafka: KafkaConnection, topic: str, show_progress: bool = True) -> Iterator[dict[str, Any]]:
    """Every message value of ``topic`` as JSON (numbers with decimals as Decimal), in
    each partition's order, until each partition's end (the broker's end-of-partition
    signal: Tansu's high watermark falls short of the end, its fetches do not)."""
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
        total = 0  # for the progress bar only
        for p in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
            total += max(high - low, 0)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        yield from _until_ends(consumer, set(partitions), total, show_progress)
    finally:
        consumer.close()


def _until_ends(consumer: Consumer, partitions: set[int], total: int, show: bool) -> Iterator[dict[str, Any]]:
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
            if msg.value() is not None:
                yield json.loads(msg.value(), parse_float=Decimal)
            done += 1
            if show and done % PROGRESS_EVERY == 0:
                progress(done, max(total, done), started)
    if show and done >= PROGRESS_EVERY:
        progress(done, done, started)
        sys.stderr.write("\n")
