"""Which requests the dataflow has just decided, read from ``order-events``.

Each API process reads every partition of ``order-events`` from where it ends
when the process starts (assigned, no consumer group: every process sees every
event), and tells its outcome watcher the request id of each outcome that one of
its own waiters wants. The flow publishes an event only after the order and the
request's record are stored, so whoever reads them after the event reads the
change. The database is asked nothing per event: only per answered waiter.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Container

from confluent_kafka import Consumer, KafkaException, TopicPartition

log = logging.getLogger(__name__)

# How long a fetch may wait for data (Tansu holds a fetch for all of it): latency vs idle polling.
FETCH_WAIT_MS = 10
START_TIMEOUT = 30.0  # seconds to find where each partition ends
_REQUEST_ID = b'"requestId"'


class KafkaOutcomeFeed:
    def __init__(self, brokers: list[str], topic: str):
        self._config = {
            "bootstrap.servers": ",".join(brokers),
            "group.id": f"order-api-outcomes-{uuid.uuid4().hex}",  # assigned, never joined
            "enable.auto.commit": False,
            "fetch.wait.max.ms": FETCH_WAIT_MS,
            "fetch.min.bytes": 1,
        }
        self._topic = topic
        self._running = False
        self._thread: threading.Thread | None = None

    async def start(self, wanted: Container[str], decided: Callable[[list[str]], None]) -> None:
        """From now on, call ``decided`` (on this loop) with the wanted request ids decided."""
        loop = asyncio.get_running_loop()
        consumer = await asyncio.to_thread(self._assigned_at_end)
        self._running = True
        self._thread = threading.Thread(
            target=self._read, args=(consumer, wanted, loop, decided), name="outcome-feed", daemon=True
        )
        self._thread.start()

    def _assigned_at_end(self) -> Consumer:
        """Assigned at each partition's end as the broker says it now, so nothing decided
        after this returns is missed (Tansu's end is short of the true end: a few old
        events are read again, which nobody waits for)."""
        consumer = Consumer(self._config)
        try:
            partitions = consumer.list_topics(self._topic, timeout=30).topics[self._topic].partitions
            consumer.assign([TopicPartition(self._topic, p, self._end(consumer, p)) for p in partitions])
        except BaseException:
            consumer.close()
            raise
        return consumer

    def _end(self, consumer: Consumer, partition: int) -> int:
        """The partition's end; a topic just made may have no leader for a moment."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                return consumer.get_watermark_offsets(TopicPartition(self._topic, partition), 10)[1]
            except KafkaException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _read(
        self,
        consumer: Consumer,
        wanted: Container[str],
        loop: asyncio.AbstractEventLoop,
        decided: Callable[[list[str]], None],
    ) -> None:
        try:
            while self._running:
                first = consumer.poll(0.1)  # returns with the first message: consume() would wait for 500
                if first is None:
                    continue
                found = []
                for msg in [first, *consumer.consume(499, 0)]:
                    value = msg.value()
                    if msg.error() is not None or not value or _REQUEST_ID not in value:
                        continue
                    request_id = _request_id(value)
                    if request_id is not None and request_id in wanted:
                        found.append(request_id)
                if found:
                    loop.call_soon_threadsafe(decided, found)
        except Exception:
            log.exception("the outcome feed stopped; waiters are answered when they time out")
        finally:
            consumer.close()

    async def close(self) -> None:
        self._running = False
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 5)


def _request_id(value: bytes) -> str | None:
    try:
        payload = json.loads(value)
    except ValueError:
        return None
    if payload.get("type") == "OrderCreated":
        return None
    request_id = payload.get("requestId")
    return request_id if isinstance(request_id, str) else None
