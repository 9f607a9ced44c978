"""A confluent-kafka producer whose deliveries are awaited without blocking the loop."""

from __future__ import annotations

import asyncio
import threading

from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient

from http_api.wire import JsonObject
from shared import tracing
from shared.kafka_config import KafkaConnection
from shared.schemas.outputs import dumps
from shared.topics import Topic

FLUSH_ON_CLOSE_S = 3.0


class KafkaPublisher:
    def __init__(self, kafka: KafkaConnection):
        self._producer = Producer(kafka.producer(linger_ms=1))
        self._admin = AdminClient(kafka.client())
        self._running = True
        self._poller = threading.Thread(target=self._poll, name="kafka-delivery", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while self._running:
            self._producer.poll(0.05)

    async def publish(self, topic: Topic, key: str, value: JsonObject) -> None:
        if not tracing.on():
            return await self._produce(topic, key, value, None)
        from opentelemetry.trace import SpanKind

        with tracing.tracer().start_as_current_span(f"produce {topic.name}", kind=SpanKind.PRODUCER) as span:
            span.set_attribute("messaging.destination.name", topic.name)
            await self._produce(topic, key, value, tracing.kafka_headers())

    async def _produce(
        self, topic: Topic, key: str, value: JsonObject, headers: list[tuple[str, bytes]] | None
    ) -> None:
        loop = asyncio.get_running_loop()
        delivered: asyncio.Future[None] = loop.create_future()

        def on_delivery(err, _msg) -> None:
            if err is None:
                loop.call_soon_threadsafe(_settle, delivered, None)
            else:
                loop.call_soon_threadsafe(_settle, delivered, KafkaException(err))

        self._producer.produce(topic.name, dumps(value), key.encode(), on_delivery=on_delivery, headers=headers)  # type: ignore[arg-type]
        await delivered

    async def ping(self) -> None:
        await asyncio.to_thread(self._admin.list_topics, timeout=2)

    async def close(self) -> None:
        await asyncio.to_thread(self._producer.flush, FLUSH_ON_CLOSE_S)  # a broker that is gone: give up soon
        self._running = False
        await asyncio.to_thread(self._poller.join, 1)
        # librdkafka stops (and stops reconnecting to a broker that is gone) once these are freed.
        del self._producer, self._admin


def _settle(future: asyncio.Future[None], error: Exception | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
