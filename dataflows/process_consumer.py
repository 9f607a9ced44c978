"""One Kafka consumer for every input partition of a flow process.

bytewax's ``KafkaSource`` gives each input partition a librdkafka consumer of its
own: 12 at the defaults (3 topics x 4 partitions), each with its threads and its
own fetches, which keep an idle broker busy (Tansu answers each consumer's fetch
every ``fetch.wait.max.ms``). Here a process's partitions share one consumer
(``incremental_assign``), read by a fetch thread that blocks in ``poll`` (librdkafka
wakes it when data comes: nothing is spent while idle) and sorts what came into
each partition's buffer, up to ``BUFFERED_BATCHES`` batches in all. A partition's
poll only takes from its buffer.

A partition's offset moves only with what it hands on, so a crash re-reads what
was sorted but not handed on; messages of a partition no longer held are
dropped (its next holder reads them from its own offset), and errors of no
partition (a broker gone) go to the next partition that polls.

The offsets handed on are also committed to the consumer group (``KAFKA_GROUP_ID``),
asynchronously and at most once a second, for Kafka's lag tools only: a resume
reads the recovery store, never the group. A partition that handed on nothing yet
is committed at its first offset, which an admin client of its own asks for (one
request for all of them, answered in the background): asked on the consumer, each
partition's request waits behind the consumer's pending fetch, up to the fetch
wait (2 s on Apache Kafka), in the worker's thread (docs/benchmarks.md). For the
same reason the fetch thread starts at the first ``take``, when every partition of
the worker is assigned."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from bytewax.connectors.kafka import BYTEWAX_CONSUMER_LAG_GAUGE, KafkaError, KafkaSourceMessage
from bytewax.inputs import StatefulSourcePartition
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, TopicPartition
from confluent_kafka import KafkaError as ConfluentError

Key = tuple[str, int]  # (topic, partition)
Told = Callable[[Key, int | None], None]  # a partition's first offset, None when not told
# At most this many batches sorted and not yet handed on, across the process's partitions:
# a partition whose owner is slow to poll holds the others back, not the process's memory.
BUFFERED_BATCHES = 4
COMMIT_EVERY_S = 1.0  # a group commit of what was handed on, at most this often
# The longest the fetch thread blocks in one poll: how long closing the consumer may wait for it.
FETCH_BLOCK_S = 0.2
FIRST_OFFSETS_TIMEOUT_S = 10.0
LIST_TIMEOUT_S = 2.0  # asking the partitions' first offsets before the first fetch (closing waits for it)
log = logging.getLogger(__name__)


class BrokerFirstOffsets:
    """Asks the brokers for partitions' first offsets on an admin client of its own,
    made at the first ask; each answer comes on the client's thread."""

    def __init__(self, config: dict[str, Any]):
        self._config = config
        self._admin: Any = None

    def __call__(self, keys: Iterable[Key], told: Told) -> None:
        from confluent_kafka.admin import AdminClient, OffsetSpec

        if self._admin is None:
            self._admin = AdminClient(self._config)
        asked = {TopicPartition(*key): OffsetSpec.earliest() for key in keys}
        for tp, future in self._admin.list_offsets(asked, request_timeout=FIRST_OFFSETS_TIMEOUT_S).items():
            key = (tp.topic, tp.partition)
            future.add_done_callback(lambda f, key=key: told(key, None if f.exception() else f.result().offset))


def _told_nothing(_keys: Iterable[Key], _told: Told) -> None:
    return None


class ProcessConsumer:
    """The consumer the input partitions of one process share; safe across worker threads."""

    def __init__(
        self,
        config: dict[str, Any],
        batch_size: int,
        make: Callable[[dict], Any] = Consumer,
        commits: bool = False,
        first_offsets: Callable[[Iterable[Key], Told], None] | None = None,
    ):
        """``first_offsets``: asks for partitions' first offsets, for the group commit
        (``BrokerFirstOffsets``); without it a partition is listed once it hands on."""
        self._ask_first = first_offsets or _told_nothing
        self._config = {**config, "stats_cb": self._stats}
        if commits:
            self._config["on_commit"] = self._committed
        self._commits = commits
        self._next_commit = 0.0
        self._last_committed: dict[Key, int] = {}
        self._first: dict[Key, int] = {}  # written by the first-offset answers' thread
        self._asked: set[Key] = set()
        self._commit_failed = False
        self._batch_size = batch_size
        self._make = make
        self._consumer: Any = None
        self._held: dict[Key, SharedPartition] = {}
        self._sorted: dict[Key, deque] = {}
        self._unplaced: list = []  # errors of no partition, for the next partition that polls
        self._lock = threading.Lock()
        self._drained = threading.Condition(self._lock)  # the buffers have room again, or the consumer closed
        self._fetcher: threading.Thread | None = None
        self._assigned: set[Key] = set()  # the partitions assigned to the consumer (once fetching began)

    def add(self, partition: SharedPartition) -> None:
        with self._lock:
            if self._consumer is None:
                self._consumer = self._make(self._config)
            self._held[partition.key] = partition
            self._sorted[partition.key] = deque()
            if self._fetcher is not None:  # fetching: it joins the fetch after the pending one
                self._consumer.incremental_assign([TopicPartition(*partition.key, partition.offset)])
                self._assigned.add(partition.key)

    def remove(self, key: Key) -> None:
        with self._lock:
            if self._held.pop(key, None) is None:
                return
            del self._sorted[key]
            if self._held:
                if key in self._assigned:  # assigned only once fetching began
                    self._assigned.discard(key)
                    self._consumer.incremental_unassign([TopicPartition(*key)])
                return
            consumer, fetcher = self._consumer, self._fetcher
            self._consumer = self._fetcher = None
            self._assigned.clear()
            self._drained.notify_all()
        if fetcher is not None:
            fetcher.join()  # within FETCH_BLOCK_S: it sees its consumer is no longer the one
        consumer.close()

    def take(self, key: Key, most: int) -> list:
        """Up to ``most`` of ``key``'s messages in offset order, after any errors of no partition."""
        with self._lock:
            if self._fetcher is None and self._consumer is not None:
                self._start_fetching()
            mine = self._sorted[key]
            taken, self._unplaced = self._unplaced, []
            while mine and len(taken) < most:
                taken.append(mine.popleft())
            if taken:
                self._drained.notify()
            if self._commits and time.monotonic() >= self._next_commit:
                self._commit_handed_on()
            return taken

    def _start_fetching(self) -> None:
        """The fetch thread, at the first ``take`` (bytewax builds a worker's partitions
        before it polls them): it assigns every partition held at once, at offsets the
        broker has told, before its first fetch, so that fetch asks for all of them.
        librdkafka has one fetch pending a broker at a time, and a partition assigned
        meanwhile, or at a logical offset (the beginning, the end) it has yet to look up,
        joins the next one, up to the fetch wait later (2 s on Apache Kafka): assigned one
        by one at logical offsets, a flow took 7 s to its first messages, against 1."""
        self._fetcher = threading.Thread(target=self._fetch, args=(self._consumer,), name="kafka-fetch", daemon=True)
        self._fetcher.start()

    def _assign_held(self, consumer: Any) -> None:
        """The partitions held and not yet assigned, in one assignment (the fetch thread's first step)."""
        with self._lock:
            pending = {k: p.offset for k, p in self._held.items() if k not in self._assigned}
        told = told_offsets(consumer, pending)
        with self._lock:
            if self._consumer is not consumer:
                return
            new = {k: o for k, o in told.items() if k in self._held and k not in self._assigned}
            consumer.incremental_assign([TopicPartition(*k, o) for k, o in new.items()])
            self._assigned.update(new)

    def _fetch(self, consumer: Any) -> None:
        """The fetch thread: blocks in ``poll`` (``consume`` would wait for a whole batch
        or its timeout), then takes what else came, while the buffers have room."""
        room = BUFFERED_BATCHES * self._batch_size
        self._assign_held(consumer)
        while True:
            with self._lock:
                while self._consumer is consumer and sum(map(len, self._sorted.values())) >= room:
                    self._drained.wait()
                if self._consumer is not consumer:
                    return
            first = consumer.poll(FETCH_BLOCK_S)
            if first is None:
                continue
            came = [first, *consumer.consume(self._batch_size - 1, 0)]
            with self._lock:
                if self._consumer is consumer:
                    self._sort(came)

    def _commit_handed_on(self) -> None:
        """Each held partition's offset, where it moved since the last commit (the owner's
        ``take`` moves it just after this returns: the commit lags by one batch at most)."""
        self._next_commit = time.monotonic() + COMMIT_EVERY_S
        held = {k: p.offset for k, p in self._held.items()}
        unlisted = [k for k, o in held.items() if o < 0 and not self._sorted[k]]
        self._ask_first_offsets(unlisted)
        for key in unlisted:
            held[key] = self._first.get(key, -1)  # nothing handed on yet: listed at its first offset, once told
        moved = {k: o for k, o in held.items() if o >= 0 and self._last_committed.get(k) != o}
        if moved:
            self._consumer.commit(offsets=[TopicPartition(*k, o) for k, o in moved.items()], asynchronous=True)
            self._last_committed.update(moved)

    def _ask_first_offsets(self, keys: list[Key]) -> None:
        """Ask once for the first offsets not yet known; a failed answer is asked again later."""
        new = [k for k in keys if k not in self._first and k not in self._asked]
        if not new:
            return
        self._asked.update(new)
        try:
            self._ask_first(new, self._told_first)
        except Exception as exc:  # a broker slow to answer: asked again at the next commit
            log.warning("asking for the first offsets of %d partitions failed: %s", len(new), exc)
            self._asked.difference_update(new)

    def _told_first(self, key: Key, offset: int | None) -> None:
        if offset is None or offset < 0:
            self._asked.discard(key)
        else:
            self._first[key] = offset

    def _committed(self, err: Any, partitions: list) -> None:
        """A group commit's answer: a failure is logged once, and costs nothing else."""
        failed = err is not None or any(p.error is not None for p in partitions)
        if failed and not self._commit_failed:
            log.warning("committing offsets to the consumer group failed (lag tools see old offsets): %s", err)
        self._commit_failed = failed

    def _sort(self, messages: list) -> None:
        for msg in messages:
            error = msg.error()
            if error is not None and error.code() == ConfluentError._PARTITION_EOF:
                continue
            place = self._sorted.get((msg.topic(), msg.partition()))
            if place is not None:
                place.append(msg)
            elif error is not None:
                self._unplaced.append(msg)

    def _stats(self, json_stats: str) -> None:
        """librdkafka's statistics (called within the fetch thread's ``poll``): each held
        partition's lag into bytewax's gauge, as bytewax's own partitions do."""
        topics = json.loads(json_stats).get("topics", {})
        for (topic, index), partition in list(self._held.items()):
            stats = topics.get(topic, {}).get("partitions", {}).get(str(index))
            if stats is not None and partition.offset > 0:
                partition.lag_gauge.set(stats["ls_offset"] - partition.offset)


def told_offsets(consumer: Any, offsets: dict[Key, int]) -> dict[Key, int]:
    """``offsets`` with each logical one (the beginning, the end) as the broker tells it,
    in one request; left logical (librdkafka looks them up) when the broker does not answer."""
    logical = [TopicPartition(*k, o) for k, o in offsets.items() if o in (OFFSET_BEGINNING, OFFSET_END)]
    if not logical:
        return offsets
    try:  # ListOffsets takes the beginning and the end as the timestamps -2 and -1
        told = consumer.offsets_for_times(logical, LIST_TIMEOUT_S)
    except Exception as exc:
        log.info("the first offsets of %d partitions were not told (%s): librdkafka asks for them", len(logical), exc)
        return offsets
    return offsets | {(tp.topic, tp.partition): tp.offset for tp in told if tp.error is None and tp.offset >= 0}


class SharedPartition(StatefulSourcePartition):
    """One input partition read through its process's ``ProcessConsumer``."""

    def __init__(self, shared: ProcessConsumer, step_id: str, topic: str, index: int, offset: int, batch_size: int):
        self.key: Key = (topic, index)
        self.offset = offset  # the next to hand on: what a snapshot resumes from
        self.lag_gauge = BYTEWAX_CONSUMER_LAG_GAUGE.labels(step_id=step_id, topic=topic, partition=index)
        self._shared = shared
        self._batch_size = batch_size
        shared.add(self)

    def next_batch(self) -> list[KafkaSourceMessage | KafkaError]:
        batch: list[KafkaSourceMessage | KafkaError] = []
        for msg in self._shared.take(self.key, self._batch_size):
            item = _source_message(msg)
            error = msg.error()
            batch.append(item if error is None else KafkaError(error, item))
            if (msg.topic(), msg.partition()) == self.key and msg.offset() is not None and msg.offset() >= 0:
                self.offset = msg.offset() + 1
        return batch

    def snapshot(self) -> int:
        return self.offset

    def close(self) -> None:
        self._shared.remove(self.key)


def _source_message(msg: Any) -> KafkaSourceMessage:
    return KafkaSourceMessage(
        key=msg.key(),
        value=msg.value(),
        topic=msg.topic(),
        headers=msg.headers() or [],
        latency=msg.latency(),
        offset=msg.offset(),
        partition=msg.partition(),
        timestamp=msg.timestamp(),
    )
