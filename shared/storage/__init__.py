"""The stored documents (docs/storage.md), a module each: an order (``orders``), the record
of each request that reached it (``records``), the API's idempotency keys and their
daily counts (``idempotency_keys``), what they share (``common``) and their indexes (``indexes``).

Money is Decimal128 in currency units. Every decided request leaves a record, kept
for the life of the order (a payment leaves none: the order it made is its record).
The records are how a replayed request, however old, yields the outcome it had
the first time (with the same event ids), and they are the order's history. They
are separate documents so that an order's own document does not grow, and get
heavier to write, with every request it sees.

An order is written before the records of the requests it applied, and carries
those records (``pending``: the ones of its latest write, not all of them) until
its next write. A crash between the two writes leaves an order whose ``pending``
records may be missing from ``order-requests``; whoever loads the order finishes
that write first (``missing_records``), so a replayed request always finds its record.
"""

from shared.storage.common import IN_CHUNK, cents, id_queries, money
from shared.storage.idempotency_keys import (
    KEY_COUNTS,
    KEY_TTL_SECONDS,
    KEYS_COLLECTION,
    key_count_id,
    key_count_upsert,
    key_doc,
    key_expired,
    seconds_to_next_day,
)
from shared.storage.indexes import INDEXES
from shared.storage.orders import (
    CLIENT_READ,
    CLIENT_READ_WITH_LATEST,
    COLLECTION,
    INTERNAL_FIELDS,
    PENDING,
    merged_history,
    missing_records,
    order_fields,
    order_from_doc,
    order_to_doc,
    orders_to_write,
    pending_ids,
    split_latest_write,
)
from shared.storage.records import (
    RECORDS,
    Recorded,
    RecordView,
    actor_fields,
    read_record,
    record_doc,
    record_id,
    recorded_from_doc,
    stock_fields,
)

__all__ = [
    "CLIENT_READ",
    "CLIENT_READ_WITH_LATEST",
    "COLLECTION",
    "INDEXES",
    "INTERNAL_FIELDS",
    "IN_CHUNK",
    "KEYS_COLLECTION",
    "KEY_COUNTS",
    "KEY_TTL_SECONDS",
    "PENDING",
    "RECORDS",
    "RecordView",
    "Recorded",
    "actor_fields",
    "cents",
    "id_queries",
    "key_count_id",
    "key_count_upsert",
    "key_doc",
    "key_expired",
    "merged_history",
    "missing_records",
    "money",
    "order_fields",
    "order_from_doc",
    "order_to_doc",
    "orders_to_write",
    "pending_ids",
    "read_record",
    "record_doc",
    "record_id",
    "recorded_from_doc",
    "seconds_to_next_day",
    "split_latest_write",
    "stock_fields",
]  # fmt: skip
