"""How the shared consumer sorts what one poll brings (dataflows.process_consumer), with a
stand-in for librdkafka's consumer: errors of no partition, partitions no longer held."""

from __future__ import annotations

from confluent_kafka import KafkaError as ConfluentError

from dataflows.process_consumer import ProcessConsumer, SharedPartition


class Msg:
    def __init__(self, topic: str | None, partition: int | None, offset: int, error: ConfluentError | None = None):
        self._where = (topic, partition, offset)
        self._error = error

    def topic(self):
        return self._where[0]

    def partition(self):
        return self._where[1]

    def offset(self):
        return self._where[2]

    def error(self):
        return self._error

    def key(self):
        return None

    def value(self):
        return f"{self._where}".encode()

    def headers(self):
        return None

    def latency(self):
        return None

    def timestamp(self):
        return (0, 0)


class StandIn:
    """Hands out the polls it was given, one a ``consume``."""

    def __init__(self, polls: list[list[Msg]]):
        self.polls = polls
        self.closed = False

    def incremental_assign(self, _partitions) -> None: ...
    def incremental_unassign(self, _partitions) -> None: ...

    def consume(self, _n: int, _timeout: float) -> list[Msg]:
        return self.polls.pop(0) if self.polls else []

    def close(self) -> None:
        self.closed = True


def shared(polls: list[list[Msg]]) -> tuple[ProcessConsumer, StandIn]:
    stand_in = StandIn(polls)
    return ProcessConsumer({}, 10, make=lambda _config: stand_in), stand_in


def test_an_error_of_no_partition_goes_to_the_partition_that_polled():
    consumer, _ = shared([[Msg(None, None, -1001, ConfluentError(ConfluentError._ALL_BROKERS_DOWN))]])
    polling = SharedPartition(consumer, "in", "t", 0, -2, 10)
    batch = polling.next_batch()
    assert [type(item).__name__ for item in batch] == ["KafkaError"]
    assert polling.snapshot() == -2  # an error moves no offset


def test_messages_of_a_partition_no_longer_held_are_dropped_not_handed_to_another():
    consumer, _ = shared([[Msg("t", 1, 0), Msg("t", 0, 5)]])
    held = SharedPartition(consumer, "in", "t", 0, 5, 10)
    assert [item.offset for item in held.next_batch()] == [5]
    assert held.snapshot() == 6


def test_the_consumer_closes_with_the_last_partition():
    consumer, stand_in = shared([])
    first, second = (SharedPartition(consumer, "in", "t", i, -2, 10) for i in (0, 1))
    first.close()
    assert not stand_in.closed
    second.close()
    assert stand_in.closed


class Committing(StandIn):
    """A stand-in that records the group commits asked of it."""

    def __init__(self, polls: list[list[Msg]]):
        super().__init__(polls)
        self.commits: list[dict[tuple[str, int], int]] = []

    def commit(self, offsets, asynchronous: bool) -> None:
        assert asynchronous, "a group commit must not wait on the hot path"
        self.commits.append({(tp.topic, tp.partition): tp.offset for tp in offsets})

    def get_watermark_offsets(self, _tp, timeout: float) -> tuple[int, int]:
        return 0, 0


def committing(polls: list[list[Msg]]) -> tuple[ProcessConsumer, Committing]:
    stand_in = Committing(polls)
    return ProcessConsumer({}, 10, make=lambda _config: stand_in, commits=True), stand_in


def test_the_group_commit_holds_what_was_handed_on_and_comes_at_most_once_a_second(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("dataflows.process_consumer.time.monotonic", lambda: clock[0])
    consumer, stand_in = committing([[Msg("t", 0, 5), Msg("t", 0, 6)], [Msg("t", 0, 7)]])
    partition = SharedPartition(consumer, "in", "t", 0, 5, 10)
    partition.next_batch()  # hands on 5 and 6; the commit of this take saw nothing handed on
    partition.next_batch()  # within the second: no commit
    assert stand_in.commits == [{("t", 0): 5}]
    clock[0] += 1.0
    partition.next_batch()
    assert stand_in.commits[-1] == {("t", 0): 8}, stand_in.commits


def test_a_partition_that_handed_on_nothing_is_committed_at_its_first_offset():
    consumer, stand_in = committing([])
    SharedPartition(consumer, "in", "t", 0, -2, 10).next_batch()
    assert stand_in.commits == [{("t", 0): 0}]


def test_no_group_commit_when_commits_are_off():
    stand_in = Committing([[Msg("t", 0, 5)]])
    consumer = ProcessConsumer({}, 10, make=lambda _config: stand_in)
    SharedPartition(consumer, "in", "t", 0, 5, 10).next_batch()
    assert stand_in.commits == []
