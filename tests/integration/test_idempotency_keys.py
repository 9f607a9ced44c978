"""Idempotency-Keys on a real Mongo-protocol server: one key, one request id, whatever
the interleaving of its claimants, the daily cap and the TTL sweep."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from devkit.sandbox import with_database
from http_api.mongo_store import MongoOrderStore
from http_api.ports import TooManyKeys
from shared.storage import KEY_COUNTS, KEY_TTL_SECONDS, KEYS_COLLECTION, key_count_id, key_doc

USER = "user-1"
KEY = "k" * 32
PRINT = "fingerprint"


class SweptBeforeRead:
    """The keys' collection, with the key's document swept (TTL) or deleted (a claimant
    over the cap, on the code before) just before the claim's first read of it: a fault
    put between two real operations, not a stand-in for the server."""

    def __init__(self, real) -> None:
        self._real = real
        self.swept = False

    def __getattr__(self, name: str):
        return getattr(self._real, name)

    async def find_one(self, query, *args, **kwargs):
        if not self.swept:
            self.swept = True
            await self._real.delete_one({"_id": query["_id"]})
        return await self._real.find_one(query, *args, **kwargs)


@pytest.fixture
async def store(servers):
    store = MongoOrderStore(with_database(servers.mongo_uri, f"keys-{uuid.uuid4().hex[:8]}"))
    await store.ensure_indexes()
    yield store
    await store.close()


def keys_of(store: MongoOrderStore):
    return store.client[store._keys.database.name][KEYS_COLLECTION]


async def test_a_claim_whose_key_vanishes_before_its_read_stores_the_id_it_answers(store):
    keys = keys_of(store)
    await keys.insert_one(key_doc(USER, KEY, "first", PRINT, datetime.now(UTC)))
    store._keys = SweptBeforeRead(keys)
    answered, _ = await store.claim_key(USER, KEY, "second", PRINT, 10)
    held = await keys.find_one({"_id": f"{USER}:{KEY}"})
    assert held is not None, f"answered {answered!r} and stored no key"
    assert held["requestId"] == answered


async def test_an_expired_key_not_yet_swept_is_a_new_request(store):
    two_days_ago = datetime.now(UTC) - timedelta(seconds=2 * KEY_TTL_SECONDS)
    await keys_of(store).insert_one(key_doc(USER, KEY, "yesterday", PRINT, two_days_ago))
    answered, _ = await store.claim_key(USER, KEY, "today", PRINT, 10)
    assert answered == "today"


async def test_claimants_of_one_key_at_once_all_get_one_request_id(store):
    claims = [store.claim_key(USER, KEY, f"rid-{i}", PRINT, 10) for i in range(16)]
    answers = {rid for rid, _ in await asyncio.gather(*claims)}
    held = await keys_of(store).find_one({"_id": f"{USER}:{KEY}"})
    assert answers == {held["requestId"]}


async def test_claimants_of_new_keys_at_once_never_pass_the_days_cap(store):
    per_day = 5
    claims = [store.claim_key(USER, f"{i:032d}", f"rid-{i}", PRINT, per_day) for i in range(20)]
    answers = await asyncio.gather(*claims, return_exceptions=True)
    claimed = [a for a in answers if not isinstance(a, TooManyKeys)]
    assert len(claimed) == per_day, answers
    assert await keys_of(store).count_documents({}) == per_day


async def test_a_retry_at_the_days_cap_still_answers_with_its_key(store):
    first, _ = await store.claim_key(USER, KEY, "first", PRINT, 1)
    counts = store.client[store._keys.database.name][KEY_COUNTS]
    assert (await counts.find_one({"_id": key_count_id(USER, datetime.now(UTC))}))["n"] == 1
    again, _ = await store.claim_key(USER, KEY, "second", PRINT, 1)
    assert again == first
