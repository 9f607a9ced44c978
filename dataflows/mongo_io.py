"""Mongo around the dataflow: batch loading of orders and records, guarded writes."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

from pymongo import InsertOne, MongoClient, ReplaceOne
from pymongo.collection import Collection
from pymongo.errors import AutoReconnect, BulkWriteError, ConnectionFailure

from shared.config import database_name
from shared.domain.model import Order
from shared.storage import (
    COLLECTION,
    INDEXES,
    RECORDS,
    Recorded,
    id_queries,
    missing_records,
    order_from_doc,
    orders_to_write,
    pending_ids,
    recorded_from_doc,
)

log = logging.getLogger(__name__)

DUPLICATE_KEY = 11000
RETRIES = 8


_CLIENTS: dict[str, MongoClient] = {}


def client(uri: str) -> MongoClient:
    """One client per process and URI; pymongo clients are thread-safe."""
    if uri not in _CLIENTS:
        _CLIENTS[uri] = MongoClient(uri, serverSelectionTimeoutMS=10_000, tz_aware=True)
    return _CLIENTS[uri]


def orders_collection(uri: str) -> Collection:
    return client(uri)[database_name(uri)][COLLECTION]


def records_collection(uri: str) -> Collection:
    return client(uri)[database_name(uri)][RECORDS]


def ensure_indexes(collection: Collection) -> None:
    """The indexes of the orders and of their records (in the same database)."""
    collection.create_indexes(INDEXES[COLLECTION])
    collection.database[RECORDS].create_indexes(INDEXES[RECORDS])


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
    """Loads the stored orders and records of a batch of commands, a few queries a batch."""

    def __init__(self, uri: str):
        self._uri = uri

    def load(self, order_ids: Iterable[str]) -> dict[str, Order]:
        """The stored orders, each with its latest write finished (its records stored)."""
        docs = self._find(orders_collection(self._uri), order_ids, "loading orders")
        self._finish_writes(docs)
        return {doc["_id"]: order_from_doc(doc) for doc in docs}

    def recorded(self, record_ids: Iterable[str]) -> dict[str, Recorded]:
        docs = self._find(records_collection(self._uri), record_ids, "looking up request records")
        return {doc["_id"]: recorded_from_doc(doc) for doc in docs}

    def _finish_writes(self, docs: list[dict[str, Any]]) -> None:
        ids = pending_ids(docs)
        if not ids:
            return
        records = records_collection(self._uri)
        stored = {doc["_id"] for doc in self._find(records, ids, "checking records", {"_id": 1})}
        missing = missing_records(docs, stored)
        if missing:
            log.warning("storing %d request records a crash left unwritten", len(missing))
            write_records(records, missing)

    @staticmethod
    def _find(
        collection: Collection, ids: Iterable[str], what: str, projection: dict[str, int] | None = None
    ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for query in id_queries(sorted(set(ids))):
            found += with_retries(lambda q=query: list(collection.find(q, projection)), what)
        return found


def write_ops(docs: Iterable[dict[str, Any]], records: Iterable[dict[str, Any]] = ()) -> list[InsertOne | ReplaceOne]:
    """One op per order, its newest revision; never overwrites a newer stored one."""
    return [
        InsertOne(doc)
        if doc["revision"] == 1
        else ReplaceOne({"_id": doc["_id"], "revision": {"$lt": doc["revision"]}}, doc, upsert=True)
        for doc in orders_to_write(docs, records)
    ]


def write_orders(collection: Collection, docs: list[dict[str, Any]], records: Sequence[dict[str, Any]] = ()) -> None:
    """Each order's newest document, carrying the records decided with it (``records``)."""
    ops = write_ops(docs, records)
    if not ops:
        return

    def bulk() -> None:
        try:
            collection.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            _duplicates_only(exc)  # the stored order is as new or newer: a replay

    with_retries(bulk, "writing orders")


def write_records(collection: Collection, records: list[dict[str, Any]]) -> None:
    """Insert each record once; one already stored (a replay) is left as it is. Another
    request's record at the same revision of the same order is a bug, and raises."""
    if not records:
        return

    def insert() -> None:
        try:
            collection.insert_many(records, ordered=False)
        except BulkWriteError as exc:
            clashing = [records[e["index"]]["_id"] for e in _duplicates_only(exc)]
            stored = {doc["_id"] for doc in collection.find({"_id": {"$in": clashing}}, {"_id": 1})}
            if stored != set(clashing):
                raise RuntimeError(f"request records clash at one revision: {sorted(set(clashing) - stored)}") from exc

    with_retries(insert, "writing request records")


def _duplicates_only(exc: BulkWriteError) -> list[dict[str, Any]]:
    """The write errors of a bulk write when all are duplicate keys; else the error again."""
    errors = exc.details.get("writeErrors", [])
    if exc.details.get("writeConcernErrors") or any(e.get("code") != DUPLICATE_KEY for e in errors):
        raise exc
    return errors
