"""Helpers to run the order flow in-process with TestingSource and TestingSink."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bytewax.connectors.kafka import KafkaSourceMessage
from bytewax.testing import TestingSink, TestingSource, run_main

from dataflows.order_flow import build_flow
from ops.samples import payment, refund, update  # noqa: F401 (re-exported for the tests)
from shared.config import load_settings
from shared.domain.model import Order
from shared.schemas.outputs import OutMessage
from shared.storage import order_from_doc
from shared.topics import Topics

TOPICS = Topics.from_settings(load_settings({}, dotenv=None))
BASE_MS = 1_760_000_000_000


@dataclass
class StoreLoader:
    """Loads orders from what the sink wrote in earlier runs (a dict, no server)."""

    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    loads: int = 0
    asked: list[str] = field(default_factory=list)

    def load(self, order_ids: Iterable[str]) -> dict[str, Order]:
        self.loads += 1
        ids = list(order_ids)
        self.asked += ids
        return {i: order_from_doc(self.docs[i]) for i in ids if i in self.docs}

    def keep(self, docs: list[dict[str, Any]]) -> None:
        for doc in docs:
            held = self.docs.get(doc["_id"])
            if held is None or held["revision"] < doc["revision"]:
                self.docs[doc["_id"]] = doc


def message(topic: str, body: Any, offset: int = 0, key: bytes | None = None) -> KafkaSourceMessage:
    value = body if isinstance(body, bytes) else json.dumps(body).encode()
    return KafkaSourceMessage(
        key=key, value=value, topic=topic, partition=0, offset=offset, timestamp=(1, BASE_MS + offset * 1000)
    )


@dataclass
class Run:
    docs: list[dict[str, Any]]
    messages: list[OutMessage]

    def on(self, topic: str) -> list[dict[str, Any]]:
        return [m.value for m in self.messages if m.topic == topic]

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.on(TOPICS.order_events)

    @property
    def dlq(self) -> list[dict[str, Any]]:
        return self.on(TOPICS.order_dlq)

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
) -> Run:
    loader = loader if loader is not None else StoreLoader()
    docs: list[dict[str, Any]] = []
    messages: list[OutMessage] = []
    flow = build_flow(
        TestingSource(items),
        TestingSink(docs),
        TestingSink(messages),
        loader,
        topics,
        completer=completer,
        idle=idle,
    )
    run_main(flow)
    loader.keep(docs)
    return Run(docs, messages)
