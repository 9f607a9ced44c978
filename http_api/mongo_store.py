"""Orders read with PyMongo's native async client.

The one module of the API that holds documents (``Document``): what PyMongo reads
is turned into typed values by ``shared.storage`` before it leaves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, TypeGuard

from pymongo import DESCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from http_api.by_revision import ByRevision
from http_api.ports import KeyClaimRace, TooManyKeys
from http_api.read_batches import ReadBatches
from shared.config import database_name
from shared.domain.model import Order
from shared.storage import (
    CLIENT_READ,
    CLIENT_READ_WITH_LATEST,
    COLLECTION,
    INDEXES,
    KEY_COUNTS,
    KEYS_COLLECTION,
    PENDING,
    RECORDS,
    RecordView,
    id_queries,
    key_count_id,
    key_count_upsert,
    key_doc,
    key_expired,
    merged_history,
    order_from_doc,
    read_record,
    seconds_to_next_day,
    split_latest_write,
)

# A document as PyMongo reads or writes it (orders, records, keys, counts, queries).
Document = dict[str, Any]

# Reads and conditional writes before a key's claim gives up: each lost write means another
# claimant stored the key, which the next read finds, so a second loss is already rare.
CLAIM_TRIES = 4


class ReadOrders:
    """Orders read from their documents, each turned into an ``Order`` once per
    revision (``by_revision``), as ``RenderedOrders`` renders each body once."""

    def __init__(self, size: int = 4_096):
        self._orders: ByRevision[Order] = ByRevision(size)

    def of(self, doc: Document) -> Order:
        key: tuple[str, int] = (doc["_id"], doc["revision"] if "revision" in doc else doc["version"])
        return self._orders.get(key, lambda: order_from_doc(doc))


def _live(held: Document | None, now: datetime) -> TypeGuard[Document]:
    """A key's document that still stands for its request (within its day)."""
    return held is not None and not key_expired(held, now)


class MongoOrderStore:
    def __init__(self, uri: str, client: AsyncMongoClient | None = None, timeout_ms: int = 5_000):
        """``timeout_ms`` bounds each operation as a whole (PyMongo's ``timeoutMS``): a
        database that does not answer makes a request 503, not a request that hangs."""
        self.client = client or AsyncMongoClient(
            uri, serverSelectionTimeoutMS=timeout_ms, timeoutMS=timeout_ms, tz_aware=True
        )
        db = self.client[database_name(uri)]
        self._orders = db[COLLECTION]
        self._records = db[RECORDS]
        self._keys = db[KEYS_COLLECTION]
        self._key_counts = db[KEY_COUNTS]
        self._reads = ReadBatches(self.get_many)
        self._read_orders = ReadOrders()

    async def get(self, order_id: str) -> Order | None:
        """One order; reads asked for together share a query (see ``read_batches``)."""
        return await self._reads.get(order_id)

    async def get_many(self, order_ids: list[str]) -> dict[str, Order]:
        found = self._find_ids(self._orders, order_ids, CLIENT_READ)
        return {doc["_id"]: self._read_orders.of(doc) async for doc in found}

    async def orders_and_records(self, wanted: dict[str, str]) -> tuple[dict[str, Order], dict[str, RecordView]]:
        """One query when the records are in their orders' latest writes (the usual
        case for a request just decided), two otherwise."""
        orders: dict[str, Order] = {}
        records: dict[str, RecordView] = {}
        async for doc in self._find_ids(self._orders, sorted(set(wanted.values())), CLIENT_READ_WITH_LATEST):
            order, latest = split_latest_write(doc)
            orders[order["_id"]] = self._read_orders.of(order)
            records.update((r["_id"], read_record(r)) for r in latest if r["_id"] in wanted)
        missing = [key for key in wanted if key not in records and wanted[key] in orders]
        if missing:
            records.update(await self.records(missing))
        return orders, records

    async def records(self, record_ids: list[str]) -> dict[str, RecordView]:
        return {doc["_id"]: read_record(doc) async for doc in self._find_ids(self._records, record_ids, None)}

    async def history(self, order_id: str, after_seq: int, limit: int) -> list[RecordView]:
        """The order's records past ``after_seq``, with those of its latest write that
        are not stored yet (``pending``): the order is read first, and every write
        before its latest had its records stored before that write was made."""
        latest = await self._orders.find_one({"_id": order_id}, {PENDING: 1})
        query = {"orderId": order_id, "seq": {"$gt": after_seq}}
        stored = await self._records.find(query).sort("seq", 1).limit(limit).to_list(limit)
        return [read_record(r) for r in merged_history(stored, (latest or {}).get(PENDING, []), after_seq, limit)]

    @staticmethod
    async def _find_ids(
        collection: AsyncCollection[Document], ids: list[str], projection: dict[str, int] | None
    ) -> AsyncIterator[Document]:
        for query in id_queries(ids):
            async for doc in collection.find(query, projection):
                yield doc

    async def find_by_user(
        self, user_id: str, status: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[Order]:
        query: Document = {"userId": user_id}
        if status:
            query["status"] = status
        if after:
            created, order_id = after
            query["$or"] = [{"createdAt": {"$lt": created}}, {"createdAt": created, "_id": {"$lt": order_id}}]
        newest_first = [("createdAt", DESCENDING), ("_id", DESCENDING)]
        cursor = self._orders.find(query, CLIENT_READ).sort(newest_first).limit(limit)
        return [self._read_orders.of(doc) async for doc in cursor]

    async def claim_key(
        self, user_id: str, key_hash: str, request_id: str, fingerprint: str, per_day: int
    ) -> tuple[str, str]:
        """One request id per key, whatever the interleaving: a key held (and within its
        day) answers with what it holds; a new or expired one is counted first, then
        stored by one conditional write, and a claimant that loses that write reads the
        winner's. A claimed key is never deleted (only the TTL index sweeps it)."""
        now = datetime.now(UTC)
        key = key_doc(user_id, key_hash, request_id, fingerprint, now)
        counted = False
        for _ in range(CLAIM_TRIES):
            held = await self._keys.find_one({"_id": key["_id"]})
            if _live(held, now):
                if counted:  # another claimant stored it first: this one was no new key
                    await self._uncount_key(user_id, now)
                return held["requestId"], held["fingerprint"]
            if not counted:
                if not await self._count_new_key(user_id, now, per_day):
                    return await self._held_or_too_many(key["_id"], now, per_day)
                counted = True
            if await self._store_key(key, held):
                return request_id, fingerprint
        raise KeyClaimRace(f"the Idempotency-Key changed hands {CLAIM_TRIES} times while it was claimed")

    async def _held_or_too_many(self, key_id: str, now: datetime, per_day: int) -> tuple[str, str]:
        """At the day's cap, a key another claimant stored meanwhile still answers."""
        held = await self._keys.find_one({"_id": key_id})
        if not _live(held, now):
            raise TooManyKeys(per_day, seconds_to_next_day(now))
        return held["requestId"], held["fingerprint"]

    async def _store_key(self, key: Document, held: Document | None) -> bool:
        """Store ``key``: new, or in place of ``held``, an expired one, unless another
        claimant's write came first (False)."""
        if held is None:
            try:
                await self._keys.insert_one(key)
            except DuplicateKeyError:
                return False
            return True
        replaced = await self._keys.replace_one({"_id": key["_id"], "createdAt": held["createdAt"]}, key)
        return replaced.matched_count == 1

    async def _uncount_key(self, user_id: str, now: datetime) -> None:
        await self._key_counts.update_one({"_id": key_count_id(user_id, now), "n": {"$gt": 0}}, {"$inc": {"n": -1}})

    async def _count_new_key(self, user_id: str, now: datetime, per_day: int) -> bool:
        """One more of today's keys for ``user_id``, unless it has ``per_day``: a
        conditional upsert, which at the cap finds no document and collides on _id.
        Two first upserts of a day collide too (the server does not retry an upsert whose
        filter is not all equalities), so a collision below the cap is tried again."""
        count = {"_id": key_count_id(user_id, now)}
        for _ in range(CLAIM_TRIES):
            try:
                await self._key_counts.update_one(*key_count_upsert(user_id, now, per_day), upsert=True)
            except DuplicateKeyError:
                held = await self._key_counts.find_one(count)
                if held is not None and held.get("n", 0) >= per_day:
                    return False
                continue
            return True
        raise KeyClaimRace(f"the day's count of Idempotency-Keys changed {CLAIM_TRIES} times while it was counted")

    async def ensure_indexes(self) -> None:
        await self._keys.create_indexes(INDEXES[KEYS_COLLECTION])
        await self._key_counts.create_indexes(INDEXES[KEY_COUNTS])

    async def ping(self) -> None:
        await self.client.admin.command("ping")

    async def close(self) -> None:
        await self.client.close()
