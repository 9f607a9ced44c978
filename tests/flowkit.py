"""Helpers to run the order flow in-process with TestingSource and TestingSink."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bytewax.connectors.kafka import KafkaSourceMessage
from bytewax.testing import TestingSink, TestingSource, run_main

from dataflows.order_flow import build_flow
from devkit.samples import payment, refund, update  # noqa: F401 (re-exported for the tests)
from shared.domain.model import Order
from shared.domain.policy import NO_POLICY, Policy
from shared.schemas.outputs import OutMessage
from shared.step import Writes
from shared.storage import Recorded, missing_records, order_from_doc, orders_to_write, recorded_from_doc
from shared.topics import Topics

TOPICS = Topics()
BASE_MS = 1_760_000_000_000


@dataclass
class StoreLoader:
    """Loads orders and records from what the sink wrote in earlier runs (dicts, no
    server), finishing a write a crash cut short as the Mongo loader does."""

    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    loads: int = 0
    asked: list[str] = field(default_factory=list)

    def load(self, order_ids: Iterable[str]) -> dict[str, Order]:
        self.loads += 1
        ids = list(order_ids)
        self.asked += ids
        docs = [self.docs[i] for i in ids if i in self.docs]
        for record in missing_records(docs, set(self.records)):
            self.records[record["_id"]] = record
        return {doc["_id"]: order_from_doc(doc) for doc in docs}

    def recorded(self, record_ids: Iterable[str]) -> dict[str, Recorded]:
        return {i: recorded_from_doc(self.records[i]) for i in record_ids if i in self.records}

    def keep(self, docs: list[dict[str, Any]], records: Sequence[dict[str, Any]] = (), crash: bool = False) -> None:
        """Write as the sink does, orders then records; ``crash``: stop before the records."""
        for doc in orders_to_write(docs, records):
            held = self.docs.get(doc["_id"])
            if held is None or held["revision"] < doc["revision"]:
                self.docs[doc["_id"]] = doc
        if not crash:
            for record in records:
                self.records.setdefault(record["_id"], record)


def message(topic: str, body: Any, offset: int = 0, key: bytes | None = None) -> KafkaSourceMessage:
    value = body if isinstance(body, bytes) else json.dumps(body).encode()
    return KafkaSourceMessage(
        key=key, value=value, topic=topic, partition=0, offset=offset, timestamp=(1, BASE_MS + offset * 1000)
    )


@dataclass
class Run:
    docs: list[dict[str, Any]]
    messages: list[OutMessage]
    records: list[dict[str, Any]] = field(default_factory=list)

    def on(self, topic: str) -> list[dict[str, Any]]:
        return [m.value for m in self.messages if m.topic == topic]

    def original(self, topic: str) -> list[dict[str, Any]]:
        """An original-service topic's payloads, without the ``eventId`` each carries."""
        return [{k: v for k, v in m.items() if k != "eventId"} for m in self.on(topic)]

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.on(TOPICS.order_events.name)

    @property
    def dlq(self) -> list[dict[str, Any]]:
        return self.on(TOPICS.order_dlq.name)

    def outcome(self, request_id: str) -> dict[str, Any]:
        found = [e for e in self.events if e.get("requestId") == request_id]
        assert len(found) == 1, found
        return found[0]


def run_flow(
    items: list,
    loader: StoreLoader | None = None,
    completer=None,
    topics: Topics = TOPICS,
    idle: timedelta = timedelta(hours=1),
    policy: Policy = NO_POLICY,
) -> Run:
    loader = loader if loader is not None else StoreLoader()
    writes: list[Writes] = []
    flow = build_flow(
        TestingSource(items),
        TestingSink(writes),
        loader,
        topics,
        completer=completer,
        idle=idle,
        policy=policy,
    )
    run_main(flow)
    docs = [e.doc for e in writes if e.doc is not None]
    records = [r for e in writes for r in e.records]
    loader.keep(docs, records)
    return Run(docs, [m for e in writes for m in e.messages], records)
