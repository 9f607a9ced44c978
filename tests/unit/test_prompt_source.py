"""The flow's Kafka source polls without waiting and sleeps between empty polls."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from dataflows.kafka_io import PromptKafkaSource, PromptPartition

# Nothing listens here: librdkafka connects lazily, so a partition can be built and polled.
NOWHERE = ["127.0.0.1:9"]


def partition(idle_ms: float = 50) -> PromptPartition:
    source = PromptKafkaSource(NOWHERE, ["orders-in"], idle_poll=timedelta(milliseconds=idle_ms))
    return source.build_part("in", "0-orders-in", None)


def test_a_poll_returns_at_once_and_an_empty_one_schedules_the_next():
    part = partition(idle_ms=50)
    try:
        assert part.next_awake() is None  # the first poll is immediate
        started = time.perf_counter()
        for _ in range(200):
            assert part.next_batch() == []
        elapsed = time.perf_counter() - started
        # bytewax's own partition waits 1 ms in each of these polls: 200 ms in all.
        assert elapsed < 0.1, elapsed
        awake = part.next_awake()
        assert awake is not None
        assert timedelta(0) < awake - datetime.now(UTC) <= timedelta(milliseconds=50)
    finally:
        part.close()


def test_the_resume_state_is_bytewaxs_offset():
    source = PromptKafkaSource(NOWHERE, ["orders-in"], idle_poll=timedelta(milliseconds=2))
    part = source.build_part("in", "0-orders-in", 41)
    try:
        assert part.snapshot() == 41
    finally:
        part.close()
