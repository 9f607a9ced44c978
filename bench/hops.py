"""Where a refund's time goes, hop by hop, from the Kafka timestamps of its request and
its answer (each stamped by its producer when produced), for ours and the floor alike:

- in the API: from the client's send to the request produced;
- across the first hop and the flow (or the floor's worker): to the answer produced;
- across the second hop and the API: to the client's answer."""

from __future__ import annotations

import json
import statistics
import time

from confluent_kafka import Consumer, TopicPartition

from shared.kafka_config import KafkaConnection

SKEW_MS = 5_000  # read from a little before the first send


HOPS = ("API, to the request produced", "hop 1 and flow, to the answer produced", "hop 2 and API, to the answer")
SLOWEST = 0.01  # the share of requests whose hops show where the tail comes from


def hop_medians(kafka: KafkaConnection, requests: str, answers: str, sent: list[list]) -> dict[str, float]:
    """Median milliseconds of each hop over the requests of ``sent`` ([sent, answered, id])."""
    return medians(hop_splits(kafka, requests, answers, sent))


def slowest_medians(splits: list[tuple[float, ...]]) -> dict[str, float]:
    """Median milliseconds of each hop over the slowest 1% of the requests (at least one):
    which hop the tail comes from."""
    return medians(sorted(splits, key=sum, reverse=True)[: max(1, round(len(splits) * SLOWEST))])


def hop_splits(kafka: KafkaConnection, requests: str, answers: str, sent: list[list]) -> list[tuple[float, ...]]:
    """Each request's milliseconds in each of ``HOPS``, for those found on both topics."""
    if not sent:
        return []
    since = int(min(s for s, _, _ in sent)) - SKEW_MS
    wanted = {rid for _, _, rid in sent}
    produced, answered = (_stamps(kafka, topic, since, wanted) for topic in (requests, answers))
    return [
        (produced[rid] - start, answered[rid] - produced[rid], end - answered[rid])
        for start, end, rid in sent
        if rid in produced and rid in answered
    ]


def medians(splits: list[tuple[float, ...]]) -> dict[str, float]:
    """Median milliseconds of each of ``HOPS`` over ``splits``."""
    if not splits:
        return {}
    return {name: statistics.median(values) for name, values in zip(HOPS, zip(*splits, strict=True), strict=True)}


def _stamps(kafka: KafkaConnection, topic: str, since_ms: int, wanted: set[str]) -> dict[str, int]:
    """The first timestamp of each wanted request id on ``topic``, from ``since_ms`` to its end."""
    consumer = Consumer(kafka.client(**{"group.id": "bench-hops", "enable.auto.commit": False}))
    try:
        partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
        starts = consumer.offsets_for_times([TopicPartition(topic, p, since_ms) for p in partitions], timeout=30)
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in partitions}
        consumer.assign([tp for tp in starts if tp.offset >= 0])
        left = {tp.partition for tp in starts if 0 <= tp.offset < ends[tp.partition]}
        stamps: dict[str, int] = {}
        deadline = time.monotonic() + 60
        while left and time.monotonic() < deadline:
            for msg in consumer.consume(500, 1):  # waits out its timeout when fewer are left
                if msg.error() is not None:
                    continue
                rid = json.loads(msg.value() or b"{}").get("requestId")
                if rid in wanted and rid not in stamps:
                    stamps[rid] = msg.timestamp()[1]
                if (msg.offset() or 0) + 1 >= ends[msg.partition() or 0]:
                    left.discard(msg.partition())
        return stamps
    finally:
        consumer.close()
