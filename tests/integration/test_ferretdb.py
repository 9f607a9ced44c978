"""The service on a second Mongo-protocol server, FerretDB 1.24 (SQLite backend, built
by devkit.ferretdb): what works there, and the two features it lacks that the service
relies on, shown so that docs/storage.md ("Other servers") stays true. When a FerretDB
gains them, the tests of the difference fail, and the docs must change with them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from bson.decimal128 import Decimal128
from pymongo import ASCENDING, IndexModel, MongoClient
from pymongo.errors import AutoReconnect, OperationFailure

from devkit.ferretdb import Unavailable, ferretdb_binary
from devkit.sandbox import with_database
from devkit.servers import FerretDB
from http_api.mongo_store import MongoOrderStore
from shared.storage import KEYS_COLLECTION
from shared.storage.indexes import INDEXES

pytestmark = pytest.mark.apache_only  # its own server: once per test run is enough
NOT_IMPLEMENTED = 238


@pytest.fixture(scope="module")
def ferretdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FerretDB]:
    try:
        ferretdb_binary()
    except Unavailable as exc:
        pytest.skip(f"FerretDB: {exc}")
    root: Path = tmp_path_factory.mktemp("ferretdb")
    with FerretDB(root / "data", log_path=root / "ferretdb.log") as server:
        yield server


@pytest.fixture
def database(ferretdb: FerretDB):
    with MongoClient(ferretdb.uri, serverSelectionTimeoutMS=10_000) as client:
        yield client[f"t-{uuid.uuid4().hex[:8]}"]


def test_ferretdb_drops_the_connection_that_sends_decimal128_money(database):
    with pytest.raises(AutoReconnect):
        database["orders"].insert_one({"_id": "o-1", "totalPrice": Decimal128("12.34")})


def test_ferretdb_refuses_the_ttl_index_that_sweeps_idempotency_keys(database):
    (ttl,) = [m for m in INDEXES[KEYS_COLLECTION] if "expireAfterSeconds" in m.document]
    with pytest.raises(OperationFailure) as refused:
        database[KEYS_COLLECTION].create_indexes([ttl])
    assert refused.value.code == NOT_IMPLEMENTED


def test_the_version_guard_of_order_writes_holds_on_ferretdb(database):
    """The conditional write every order write goes through: a replayed older revision
    matches nothing (money left out, which FerretDB cannot hold)."""
    orders = database["orders"]
    orders.create_indexes([IndexModel([("paymentId", ASCENDING)], unique=True)])
    orders.insert_one({"_id": "o-1", "paymentId": "p-1", "version": 3})
    stale = orders.update_one({"_id": "o-1", "version": {"$lt": 2}}, {"$set": {"version": 2}})
    assert stale.matched_count == 0
    assert orders.find_one({"_id": "o-1"})["version"] == 3


async def test_claimants_of_one_key_at_once_get_one_request_id_on_ferretdb(ferretdb: FerretDB):
    """The key claim's reads and conditional writes, on collections without the TTL index."""
    store = MongoOrderStore(with_database(ferretdb.uri, f"keys-{uuid.uuid4().hex[:8]}"))
    try:
        claims = [store.claim_key("user-1", "k" * 32, f"req-{i}", "print", 100) for i in range(8)]
        answers = {rid for rid, _ in await asyncio.gather(*claims)}
        held = await store._keys.find_one({"_id": f"user-1:{'k' * 32}"})
    finally:
        await store.close()
    assert len(answers) == 1
    assert held is not None and {held["requestId"]} == answers
