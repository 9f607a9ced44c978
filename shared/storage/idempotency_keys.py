"""The API's Idempotency-Keys (collection ``idempotency-keys``) and each user's daily
count of new ones (``idempotency-key-counts``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

KEYS_COLLECTION = "idempotency-keys"  # the API's Idempotency-Keys, one document each
KEY_TTL_SECONDS = 86_400  # an Idempotency-Key means the same request for a day
KEY_COUNTS = "idempotency-key-counts"  # new keys per user and UTC day: {_id: "user:day", n}


def key_doc(user_id: str, key_hash: str, request_id: str, fingerprint: str, now: datetime) -> dict[str, Any]:
    """An Idempotency-Key's document: the same key from another user is another key;
    ``fingerprint`` says what was asked, so the key with another body is refused."""
    return {"_id": f"{user_id}:{key_hash}", "requestId": request_id, "fingerprint": fingerprint, "createdAt": now}


def key_expired(doc: dict[str, Any], now: datetime) -> bool:
    """Past its day: the key is new again, whether or not the TTL index (which sweeps
    about once a minute) has removed its document yet."""
    created: datetime = doc["createdAt"]
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return (now - created).total_seconds() >= KEY_TTL_SECONDS


def seconds_to_next_day(now: datetime) -> float:
    """Until a user's count of new Idempotency-Keys starts again (UTC midnight)."""
    tomorrow = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return (tomorrow - now).total_seconds()


def key_count_id(user_id: str, now: datetime) -> str:
    """The document counting ``user_id``'s new keys on ``now``'s UTC day."""
    return f"{user_id}:{now.date().isoformat()}"


def key_count_upsert(user_id: str, now: datetime, per_day: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(filter, update) of an upsert that counts one more new key for ``user_id`` today.
    The filter matches only below ``per_day``, so at the cap the upsert finds no
    document and collides on ``_id``: a DuplicateKeyError means the user is at the cap."""
    below_cap = {"_id": key_count_id(user_id, now), "n": {"$lt": per_day}}
    return below_cap, {"$inc": {"n": 1}, "$setOnInsert": {"createdAt": now}}
