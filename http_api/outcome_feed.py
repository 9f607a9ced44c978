"""Which requests the dataflow has just decided, read from ``order-events``.

Each API process reads every partition of ``order-events`` from where it ends
when the process starts (assigned, no consumer group: every process sees every
event), and hands its outcome watcher each event that decided a request one of
its own waiters wants. The flow publishes an event only after the order and the
request's record are stored, so whoever reads them after the event reads the
change. The database is asked nothing per event.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from http_api.wire import JsonObject
from shared import tracing
from shared.kafka_config import LONG_FETCH_WAIT_MS, KafkaConnection

log = logging.getLogger(__name__)

START_TIMEOUT = 30.0  # seconds to find where each partition ends
RESTART_FIRST_S, RESTART_MOST_S = 0.5, 10.0  # waits between restarts of a failed feed
_REQUEST_ID = b'"requestId"'


@dataclass(frozen=True)
class _Listener:
    """Whom the feed tells: the request ids waited for, and the callback on their loop."""

    wanted: Container[str]
    loop: asyncio.AbstractEventLoop
    decided: Callable[[list[JsonObject]], None]


class KafkaOutcomeFeed:
    def __init__(self, kafka: KafkaConnection, topic: str, fetch_wait_ms: int = LONG_FETCH_WAIT_MS):
        self._config = kafka.client(
            **{
                "group.id": f"order-api-outcomes-{uuid.uuid4().hex}",  # assigned, never joined
                "enable.auto.commit": False,
                "fetch.wait.max.ms": fetch_wait_ms,
                "fetch.min.bytes": 1,
            }
        )
        self._topic = topic
        self._running = False
        self._up = False
        self._positions: list[TopicPartition] = []  # where each partition was assigned, then read to
        self._thread: threading.Thread | None = None

    async def start(self, wanted: Container[str], decided: Callable[[list[JsonObject]], None]) -> None:
        """From now on, call ``decided`` (on this loop) with the events that decided wanted requests."""
        loop = asyncio.get_running_loop()
        consumer = await asyncio.to_thread(self._assigned_at_end)
        self._running = self._up = True
        listener = _Listener(wanted, loop, decided)
        self._thread = threading.Thread(target=self._read, args=(consumer, listener), name="outcome-feed", daemon=True)
        self._thread.start()

    def _assigned_at_end(self) -> Consumer:
        """Assigned at each partition's end as the broker says it now, so nothing decided
        after this returns is missed (Tansu's end is short of the true end: a few old
        events are read again, which nobody waits for)."""
        consumer = Consumer(self._config)
        try:
            partitions = consumer.list_topics(self._topic, timeout=30).topics[self._topic].partitions
            self._positions = [TopicPartition(self._topic, p, self._end(consumer, p)) for p in partitions]
            consumer.assign(self._positions)
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

    def running(self) -> bool:
        """False while the feed is down (failed, and not yet restarted)."""
        return self._running and self._up

    def _read(self, consumer: Consumer | None, listener: _Listener) -> None:
        """Until closed; a failure restarts the consumer where it was (readiness is 503
        meanwhile), and waiters are answered by their last look if their event is missed."""
        backoff = RESTART_FIRST_S
        while self._running:
            try:
                if consumer is None:
                    consumer = self._reassigned()
                    self._up = True
                    backoff = RESTART_FIRST_S
                    log.info("the outcome feed is reading again")
                self._read_until_closed(consumer, listener)
            except Exception:
                log.exception("the outcome feed failed; restarting it in %.1f s", backoff)
                self._up = False
                self._positions = _positions(consumer, self._positions)
                _close(consumer)
                consumer = None
                time.sleep(backoff)
                backoff = min(backoff * 2, RESTART_MOST_S)
        _close(consumer)

    def _reassigned(self) -> Consumer:
        """A new consumer where the failed one was."""
        consumer = Consumer(self._config)
        consumer.assign(self._positions)
        return consumer

    def _read_until_closed(self, consumer: Consumer, listener: _Listener) -> None:
        while self._running:
            first = consumer.poll(0.1)  # returns with the first message: consume() would wait for 500
            if first is None:
                continue
            found = []
            for msg in [first, *consumer.consume(499, 0)]:
                value = msg.value()
                if msg.error() is not None or not value or _REQUEST_ID not in value:
                    continue
                event = _request_event(value)
                if event is not None and event["requestId"] in listener.wanted:
                    found.append(event)
                    if tracing.on():
                        _received(msg)
            if found:
                listener.loop.call_soon_threadsafe(listener.decided, found)

    async def close(self) -> None:
        self._running = False
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 5)


def _received(msg: Any) -> None:
    """The last hop of a traced request: its outcome read back from Kafka by this API."""
    from opentelemetry.trace import SpanKind

    parent = tracing.parent_from(msg.headers())
    if parent is not None:
        tracing.tracer().start_span(f"receive {msg.topic()}", context=parent, kind=SpanKind.CONSUMER).end()


def _request_event(value: bytes) -> JsonObject | None:
    """An event that decided a request, with its ``requestId`` a str; None for
    anything else a producer may have written."""
    try:
        payload = json.loads(value)
    except (ValueError, RecursionError):
        return None
    if not isinstance(payload, dict) or payload.get("type") == "OrderCreated":
        return None
    return payload if isinstance(payload.get("requestId"), str) else None


def _positions(consumer: Consumer | None, before: list[TopicPartition]) -> list[TopicPartition]:
    """Where each partition's next message is: read from ``consumer``, or as ``before``
    where it has read nothing yet."""
    if consumer is None:
        return before
    try:
        now = {(p.topic, p.partition): p.offset for p in consumer.position(consumer.assignment())}
    except Exception:  # a consumer that failed may not answer: start again where it started
        return before
    return [
        TopicPartition(p.topic, p.partition, now[p.topic, p.partition])
        if now.get((p.topic, p.partition), -1) >= 0
        else p
        for p in before
    ]


def _close(consumer: Consumer | None) -> None:
    if consumer is not None:
        try:
            consumer.close()
        except Exception:
            log.warning("closing the failed outcome consumer failed", exc_info=True)
