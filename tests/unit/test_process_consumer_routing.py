"""How the shared consumer sorts what its fetch thread brings (dataflows.process_consumer),
with a stand-in for librdkafka's consumer: errors of no partition, partitions no longer held,
group commits, a full buffer."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, TopicPartition
from confluent_kafka import KafkaError as ConfluentError

from dataflows.process_consumer import ProcessConsumer, SharedPartition, told_offsets


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
    """Hands out the fetches it was given: a ``poll`` the first message of the next, the
    ``consume`` that follows the rest of it (as librdkafka's queue would)."""

    def __init__(self, polls: list[list[Msg]]):
        self.polls = polls
        self.rest: list[Msg] = []
        self.polled = 0
        self.closed = False

    def incremental_assign(self, _partitions) -> None: ...
    def incremental_unassign(self, _partitions) -> None: ...

    def poll(self, timeout: float) -> Msg | None:
        self.polled += 1
        if not self.polls:
            time.sleep(min(timeout, 0.005))
            return None
        first, *self.rest = self.polls.pop(0)
        return first

    def consume(self, n: int, timeout: float) -> list[Msg]:
        assert timeout == 0, "only poll blocks: consume waits for a whole batch"
        taken, self.rest = self.rest[:n], self.rest[n:]
        return taken

    def close(self) -> None:
        self.closed = True


def fetched(consumer: ProcessConsumer, partition: SharedPartition) -> list:
    """The partition's next batch, once its fetch thread has brought one."""
    deadline = time.perf_counter() + 5
    while time.perf_counter() < deadline:
        batch = partition.next_batch()
        if batch:
            return batch
        time.sleep(0.001)
    raise AssertionError("the fetch thread brought nothing in 5 s")


def shared(polls: list[list[Msg]]) -> tuple[ProcessConsumer, StandIn]:
    stand_in = StandIn(polls)
    return ProcessConsumer({}, 10, make=lambda _config: stand_in), stand_in


def test_an_error_of_no_partition_goes_to_the_next_partition_that_polls():
    consumer, _ = shared([[Msg(None, None, -1001, ConfluentError(ConfluentError._ALL_BROKERS_DOWN))]])
    polling = SharedPartition(consumer, "in", "t", 0, -2, 10)
    batch = fetched(consumer, polling)
    assert [type(item).__name__ for item in batch] == ["KafkaError"]
    assert polling.snapshot() == -2  # an error moves no offset


def test_messages_of_a_partition_no_longer_held_are_dropped_not_handed_to_another():
    consumer, _ = shared([[Msg("t", 1, 0), Msg("t", 0, 5)]])
    held = SharedPartition(consumer, "in", "t", 0, 5, 10)
    assert [item.offset for item in fetched(consumer, held)] == [5]
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


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    """The monotonic clock the group commit reads, moved by the test."""
    now = [100.0]
    monkeypatch.setattr("dataflows.process_consumer.time.monotonic", lambda: now[0])
    return now


class FirstOffsets:
    """Stands in for the brokers' answers to first-offset asks: each key asked, told later."""

    def __init__(self) -> None:
        self.asked: list[list[tuple[str, int]]] = []
        self.waiting: list = []

    def __call__(self, keys, told) -> None:
        self.asked.append(list(keys))
        self.waiting += [(key, told) for key in keys]

    def answer(self, offset: int | None) -> None:
        for key, told in self.waiting:
            told(key, offset)
        self.waiting = []


def committing(polls: list[list[Msg]], first: FirstOffsets | None = None) -> tuple[ProcessConsumer, Committing]:
    stand_in = Committing(polls)
    asker = first or FirstOffsets()
    return ProcessConsumer({}, 10, make=lambda _config: stand_in, commits=True, first_offsets=asker), stand_in


def test_the_group_commit_holds_what_was_handed_on_and_comes_at_most_once_a_second(clock):
    consumer, stand_in = committing([[Msg("t", 0, 5), Msg("t", 0, 6)]])
    partition = SharedPartition(consumer, "in", "t", 0, 5, 10)
    fetched(consumer, partition)  # hands on 5 and 6; the commits of these takes saw nothing handed on
    stand_in.polls.append([Msg("t", 0, 7)])
    fetched(consumer, partition)  # 7, within the second: no commit
    assert stand_in.commits == [{("t", 0): 5}]
    clock[0] += 1.0
    partition.next_batch()
    assert stand_in.commits[-1] == {("t", 0): 8}, stand_in.commits


def test_a_partition_that_handed_on_nothing_is_committed_at_its_first_offset_once_told(clock):
    first = FirstOffsets()
    consumer, stand_in = committing([], first)
    partition = SharedPartition(consumer, "in", "t", 0, -2, 10)
    partition.next_batch()
    assert (first.asked, stand_in.commits) == ([[("t", 0)]], []), "the worker waited for the broker's answer"
    first.answer(3)
    clock[0] += 1.0
    partition.next_batch()
    assert stand_in.commits == [{("t", 0): 3}]


def test_a_first_offset_not_told_is_asked_again_and_an_asked_one_is_not(clock):
    first = FirstOffsets()
    consumer, _ = committing([], first)
    partition = SharedPartition(consumer, "in", "t", 0, -2, 10)
    partition.next_batch()
    clock[0] += 1.0
    partition.next_batch()  # still waiting for the answer: not asked twice
    first.answer(None)  # the broker did not tell it
    clock[0] += 1.0
    partition.next_batch()
    assert first.asked == [[("t", 0)], [("t", 0)]]


def test_no_group_commit_when_commits_are_off():
    stand_in = Committing([[Msg("t", 0, 5)]])
    consumer = ProcessConsumer({}, 10, make=lambda _config: stand_in)
    partition = SharedPartition(consumer, "in", "t", 0, 5, 10)
    fetched(consumer, partition)
    assert stand_in.commits == []


def test_the_fetch_thread_stops_fetching_while_the_buffers_are_full():
    many = [[Msg("t", 0, i) for i in range(10)] for _ in range(20)]  # 200 messages, room for 4 x 10
    consumer, stand_in = shared(many)
    partition = SharedPartition(consumer, "in", "t", 0, 0, 10)
    consumer.take(("t", 0), 0)  # the first take starts the fetch thread
    deadline = time.perf_counter() + 5
    while stand_in.polled < 4 and time.perf_counter() < deadline:
        time.sleep(0.001)
    time.sleep(0.05)
    assert stand_in.polled == 4, "a fetch beyond the buffers' room"
    fetched(consumer, partition)
    deadline = time.perf_counter() + 5
    while stand_in.polled < 5 and time.perf_counter() < deadline:
        time.sleep(0.001)
    assert stand_in.polled == 5, "no fetch after the buffers had room again"
    partition.close()


def test_nothing_is_fetched_before_the_worker_first_takes_so_the_first_fetch_asks_for_every_partition():
    consumer, stand_in = shared([[Msg("t", 0, 0)]])
    first = SharedPartition(consumer, "in", "t", 0, 0, 10)
    second = SharedPartition(consumer, "in", "t", 1, 0, 10)
    time.sleep(0.05)
    assert stand_in.polled == 0, "fetched before every partition was assigned"
    consumer.take(("t", 0), 0)
    deadline = time.perf_counter() + 5
    while stand_in.polled == 0 and time.perf_counter() < deadline:
        time.sleep(0.001)
    assert stand_in.polled > 0, "no fetch after the first take"
    first.close()
    second.close()


def test_the_fetch_thread_ends_before_the_consumer_closes():
    consumer, stand_in = shared([])
    partition = SharedPartition(consumer, "in", "t", 0, -2, 10)
    time.sleep(0.02)
    partition.close()
    polled = stand_in.polled
    time.sleep(0.05)
    assert stand_in.closed
    assert stand_in.polled == polled, "polled after the consumer closed"


class _Lister:
    """A consumer that tells first and last offsets (``offsets_for_times`` with -2 and -1)."""

    def __init__(self, answers: dict[int, int] | None):
        self.answers = answers
        self.asked: list[list[int]] = []

    def offsets_for_times(self, partitions: list, timeout: float) -> list:
        self.asked.append([tp.offset for tp in partitions])
        if self.answers is None:
            raise RuntimeError("no broker")
        return [TopicPartition(tp.topic, tp.partition, self.answers[tp.offset]) for tp in partitions]


def test_logical_offsets_are_told_by_the_broker_in_one_request_and_concrete_ones_kept():
    lister = _Lister({OFFSET_BEGINNING: 7, OFFSET_END: 42})
    told = told_offsets(lister, {("t", 0): OFFSET_BEGINNING, ("t", 1): OFFSET_END, ("t", 2): 5})
    assert told == {("t", 0): 7, ("t", 1): 42, ("t", 2): 5}, told
    assert len(lister.asked) == 1, lister.asked


def test_logical_offsets_stay_logical_when_the_broker_does_not_answer():
    offsets = {("t", 0): OFFSET_BEGINNING}
    assert told_offsets(_Lister(None), offsets) == offsets
