"""In-memory stand-ins for Mongo and Kafka + dataflow, for the API's unit tests.

``DecidingPublisher`` applies each published request with the real pure core, the
way the dataflow would, and stores the result where the fake store reads it.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from http_api.ports import TooManyKeys
from shared.domain.model import Order
from shared.schemas.event_codec import event_payload
from shared.schemas.messages import parse_message
from shared.step import step
from shared.storage import (
    CLIENT_READ,
    RecordView,
    key_doc,
    order_from_doc,
    read_record,
    record_id,
    recorded_from_doc,
    seconds_to_next_day,
)
from shared.topics import Topic, Topics


def _client_read(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in CLIENT_READ}


class FakeStore:
    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.records_by_id: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, tuple[str, str]] = {}
        self.new_keys: dict[str, int] = {}  # by user
        self.up = True

    async def get(self, order_id: str) -> Order | None:
        return (await self.get_many([order_id])).get(order_id)

    async def records(self, record_ids: list[str]) -> dict[str, RecordView]:
        return {i: read_record(self.records_by_id[i]) for i in record_ids if i in self.records_by_id}

    async def history(self, order_id: str, after_seq: int, limit: int) -> list[RecordView]:
        mine = [r for r in self.records_by_id.values() if r["orderId"] == order_id and r["seq"] > after_seq]
        return [read_record(r) for r in sorted(mine, key=lambda r: r["seq"])[:limit]]

    async def get_many(self, order_ids: list[str]) -> dict[str, Order]:
        """Read as the Mongo store reads them: without the fields ``CLIENT_READ`` leaves out."""
        return {i: order_from_doc(_client_read(self.docs[i])) for i in order_ids if i in self.docs}

    async def orders_and_records(self, wanted: dict[str, str]) -> tuple[dict[str, Order], dict[str, RecordView]]:
        return await self.get_many(sorted(set(wanted.values()))), await self.records(list(wanted))

    async def find_by_user(
        self, user_id: str, status: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[Order]:
        docs = [d for d in self.docs.values() if d["userId"] == user_id and (status is None or d["status"] == status)]
        docs.sort(key=lambda d: (d["createdAt"], d["_id"]), reverse=True)
        if after is not None:
            docs = [d for d in docs if (d["createdAt"], d["_id"]) < after]
        return [order_from_doc(_client_read(d)) for d in docs[:limit]]

    async def claim_key(
        self, user_id: str, key_hash: str, request_id: str, fingerprint: str, per_day: int
    ) -> tuple[str, str]:
        key_id = key_doc(user_id, key_hash, request_id, fingerprint, datetime.now(UTC))["_id"]
        if key_id in self.keys:
            return self.keys[key_id]
        if self.new_keys.get(user_id, 0) >= per_day:
            raise TooManyKeys(per_day, seconds_to_next_day(datetime.now(UTC)))
        self.new_keys[user_id] = self.new_keys.get(user_id, 0) + 1
        self.keys[key_id] = (request_id, fingerprint)
        return request_id, fingerprint

    async def ping(self) -> None:
        if not self.up:
            raise ConnectionError("mongo is down")


class FakeFeed:
    """Tells the watcher of each request the fake publisher decided, as the Kafka feed would."""

    def __init__(self) -> None:
        self._wanted = None
        self._decided = None
        self.up = True

    async def start(self, wanted, decided) -> None:
        self._wanted, self._decided = wanted, decided

    def running(self) -> bool:
        return self.up

    def tell(self, event: dict[str, Any]) -> None:
        """``event``: the ``order-events`` payload that decided a request."""
        loop = asyncio.get_running_loop()
        loop.call_soon(self._tell_now, event)

    def _tell_now(self, event: dict[str, Any]) -> None:
        if self._wanted is not None and self._decided is not None and event["requestId"] in self._wanted:
            self._decided([event])

    async def close(self) -> None:
        self._decided = None


class DecidingPublisher:
    def __init__(self, store: FakeStore, topics: Topics, feed: FakeFeed, deciding: bool = True) -> None:
        self.store = store
        self.topics = topics
        self.feed = feed
        self.deciding = deciding
        self.published: list[tuple[Topic, str, dict[str, Any]]] = []
        self.up = True

    async def publish(self, topic: Topic, key: str, value: dict[str, Any]) -> None:
        self.published.append((topic, key, value))
        if self.deciding:
            self.decide(topic, value)

    def decide(self, topic: Topic, value: dict[str, Any]) -> None:
        command = parse_message(topic.kind, json.dumps(value).encode(), 1_760_000_000_000).command
        doc = self.store.docs.get(command.order_id)
        key = record_id(command.order_id, command.request_id)
        known = self.store.records_by_id.get(key)
        recorded = None if known is None else recorded_from_doc(known).outcome
        taken = step(order_from_doc(doc) if doc else None, command, recorded)
        if taken.record is not None:  # the request changed its order: both are stored
            assert taken.doc is not None
            self.store.docs[command.order_id] = taken.doc
            self.store.records_by_id[key] = taken.record
        self.feed.tell(event_payload(taken.events[0], taken.order))

    async def ping(self) -> None:
        if not self.up:
            raise ConnectionError("kafka is down")
