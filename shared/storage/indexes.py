"""Each collection's indexes; its writer makes them at start-up (the flow's set-up the
orders' and records', the API the keys')."""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, IndexModel

from shared.storage.idempotency_keys import KEY_COUNTS, KEY_TTL_SECONDS, KEYS_COLLECTION
from shared.storage.orders import COLLECTION
from shared.storage.records import RECORDS

INDEXES: dict[str, list[IndexModel]] = {
    COLLECTION: [
        IndexModel([("paymentId", ASCENDING)], unique=True),
        IndexModel([("userId", ASCENDING), ("createdAt", DESCENDING)]),  # a user's orders, newest first
    ],
    RECORDS: [IndexModel([("orderId", ASCENDING), ("seq", ASCENDING)], unique=True)],  # an order's history
    KEYS_COLLECTION: [IndexModel([("createdAt", ASCENDING)], expireAfterSeconds=KEY_TTL_SECONDS)],
    KEY_COUNTS: [IndexModel([("createdAt", ASCENDING)], expireAfterSeconds=2 * KEY_TTL_SECONDS)],
}
