"""Mongo around the dataflow: batch loading of orders and a version-guarded sink."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from bytewax.outputs import DynamicSink, StatelessSinkPartition
from pymongo import ASCENDING, DESCENDING, InsertOne, MongoClient, ReplaceOne
from pymongo.collection import Collection
from pymongo.errors import AutoReconnect, BulkWriteError, ConnectionFailure

from shared.config import database_name
from shared.domain.model import Order
from shared.storage import COLLECTION, id_queries, order_from_doc

log = logging.getLogger(__name__)

DUPLICATE_KEY = 11000
RETRIES = 8


_CLIENTS: dict[str, MongoClient] = {}


def client(uri: str) -> MongoClient:
    """One client per process and URI; pymongo clients are thread-safe."""
    if uri not in _CLIENTS:
        _CLIENTS[uri] = MongoClient(uri, serverSelectionTimeoutMS=10_000, tz_aware=True)
    return _CLIENTS[uri]


def close_clients() -> None:
    while _CLIENTS:
        _CLIENTS.popitem()[1].close()


def orders_collection(uri: str) -> Collection:
    return client(uri)[database_name(uri)][COLLECTION]


def ensure_indexes(collection: Collection) -> None:
    collection.create_index([("paymentId", ASCENDING)], unique=True)
    collection.create_index([("userId", ASCENDING), ("createdAt", DESCENDING)])


def with_retries(action, what: str):
    """Ride out a restarting server; give up (and let the flow crash) after a while."""
    for attempt in range(RETRIES):
        try:
            return action()
        except (AutoReconnect, ConnectionFailure) as exc:
            delay = min(0.25 * 2**attempt, 5.0)
            log.warning("%s failed (%s); retrying in %.2fs", what, exc, delay)
            time.sleep(delay)
    return action()


class MongoOrderLoader:
    """Loads the stored orders of a batch of commands, a few queries a batch."""

    def __init__(self, uri: str):
        self._uri = uri

    def load(self, order_ids: Iterable[str]) -> dict[str, Order]:
        ids = sorted(set(order_ids))
        found: dict[str, Order] = {}
        collection = orders_collection(self._uri)
        for query in id_queries(ids):
            docs = with_retries(lambda q=query: list(collection.find(q)), "loading orders")
            found.update((doc["_id"], order_from_doc(doc)) for doc in docs)
        return found


def write_ops(docs: Iterable[dict[str, Any]]) -> list[InsertOne | ReplaceOne]:
    """One op per order, its newest revision; never overwrites a newer stored one."""
    newest: dict[str, dict[str, Any]] = {}
    for doc in docs:
        held = newest.get(doc["_id"])
        if held is None or held["revision"] < doc["revision"]:
            newest[doc["_id"]] = doc
    return [
        InsertOne(doc)
        if doc["revision"] == 1
        else ReplaceOne({"_id": doc["_id"], "revision": {"$lt": doc["revision"]}}, doc, upsert=True)
        for doc in newest.values()
    ]


def write_orders(collection: Collection, docs: list[dict[str, Any]]) -> None:
    ops = write_ops(docs)
    if not ops:
        return

    def bulk() -> None:
        try:
            collection.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            # A duplicate key means the stored order is as new or newer: a replay.
            real = [e for e in exc.details.get("writeErrors", []) if e.get("code") != DUPLICATE_KEY]
            if real or exc.details.get("writeConcernErrors"):
                raise

    with_retries(bulk, "writing orders")


class _OrderSinkPartition(StatelessSinkPartition[dict]):
    def __init__(self, uri: str):
        self._collection = orders_collection(uri)

    def write_batch(self, items: list[dict[str, Any]]) -> None:
        write_orders(self._collection, items)


class MongoOrderSink(DynamicSink[dict]):
    """Writes each batch of order documents with one ``bulk_write``."""

    def __init__(self, uri: str):
        self._uri = uri

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _OrderSinkPartition:
        return _OrderSinkPartition(self._uri)
