"""The flow's Kafka source: polls that do not wait, resumes that are checked."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from dataflows.kafka_io import BUSY_S, PromptKafkaSource, PromptPartition
from dataflows.resume import Fingerprint, ResumeMismatch, ResumePoint
from shared.kafka_config import KafkaConnection

# Nothing listens here: librdkafka connects lazily, so a partition can be built and polled.
NOWHERE = ["127.0.0.1:9"]


class Facts:
    """What a broker says about its partitions, fixed for a test."""

    def __init__(self, topic_id: str | None = "id-1", high: int = 100):
        self._topic_id = topic_id
        self._high = high

    def topic_id(self, topic: str) -> str | None:
        return self._topic_id

    def watermarks(self, topic: str, partition: int) -> tuple[int, int]:
        return 0, self._high

    def fingerprint_at(self, topic: str, partition: int, offset: int) -> Fingerprint | None:
        return None


def source(idle_ms: float = 50, facts: Facts | None = None) -> PromptKafkaSource:
    return PromptKafkaSource(
        NOWHERE,
        ["orders-in"],
        idle_poll=timedelta(milliseconds=idle_ms),
        kafka=KafkaConnection(tuple(NOWHERE)),
        facts=facts or Facts(),
    )


def partition(idle_ms: float = 50) -> PromptPartition:
    return source(idle_ms).build_part("in", "0-orders-in", None)


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


class Scripted:
    """An inner partition that answers each poll from a script of batches."""

    def __init__(self, batches: list[list]):
        self._batches = batches
        self._consumer = None

    def next_batch(self) -> list:
        return self._batches.pop(0)


def waits(part: PromptPartition, polls: int) -> list[int]:
    """Milliseconds until the next poll, after each of ``polls`` polls."""
    out = []
    for _ in range(polls):
        part.next_batch()
        awake = part.next_awake()
        out.append(0 if awake is None else round((awake - datetime.now(UTC)).total_seconds() * 1000))
    return out


def test_empty_polls_double_the_wait_up_to_the_most_and_a_batch_resets_it():
    script = [[], [], [], [], [], ["m"], []]
    part = PromptPartition(Scripted(script), timedelta(milliseconds=2), idle_poll_most=timedelta(milliseconds=16))
    assert waits(part, 7) == [2, 4, 8, 16, 16, 0, 2]


def test_a_partition_with_messages_within_a_second_keeps_the_first_wait_then_backs_off(monkeypatch):
    clock = [50.0]
    monkeypatch.setattr("dataflows.kafka_io.time.monotonic", lambda: clock[0])
    script = [["m"], [], [], [], [], [], []]
    part = PromptPartition(Scripted(script), timedelta(milliseconds=2), idle_poll_most=timedelta(milliseconds=16))
    assert waits(part, 4) == [0, 2, 2, 2], "a busy partition's gap waited longer than the first wait"
    clock[0] += BUSY_S
    assert waits(part, 3) == [2, 4, 8], "a partition quiet for a second did not back off"


def test_a_bare_offset_from_an_older_store_resumes_there():
    part = source().build_part("in", "0-orders-in", 41)
    try:
        assert part.snapshot().offset == 41
    finally:
        part.close()


def test_the_snapshot_records_the_topic_id():
    part = source(facts=Facts(topic_id="id-7")).build_part("in", "0-orders-in", None)
    try:
        assert part.snapshot().topic_id == "id-7"
    finally:
        part.close()


def test_a_resume_on_another_topic_id_stops_with_how_to_reset():
    with pytest.raises(ResumeMismatch) as raised:
        source(facts=Facts(topic_id="id-2")).build_part("in", "0-orders-in", ResumePoint(5, "id-1", None))
    assert "orders-in partition 0 has topic id id-2" in str(raised.value)
    assert "python -m bytewax.recovery" in str(raised.value)


def test_a_resume_past_the_partitions_end_stops():
    with pytest.raises(ResumeMismatch, match="ends at offset 3, the store resumes at offset 50"):
        source(facts=Facts(topic_id=None, high=3)).build_part("in", "0-orders-in", 50)
