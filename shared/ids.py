"""Deterministic identifiers: the same input always yields the same id."""

from __future__ import annotations

import hashlib
import uuid

EVENT_NAMESPACE = uuid.UUID("5b0d3c2e-8f1a-4c7e-9a55-0c2d7e9f4b11")
_NAMESPACE_HASH = hashlib.sha1(EVENT_NAMESPACE.bytes)
# RFC 4122 variant bits over the 17th hex digit: 10xx.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def order_id_for_payment(payment_id: str) -> str:
    """24 lowercase hex characters, shaped like a Mongo ObjectId."""
    return hashlib.sha256(f"order:{payment_id}".encode()).hexdigest()[:24]


def event_id(key: str, purpose: str, index: int | None = None) -> str:
    """``uuid.uuid5`` of "key/purpose" (or "key/purpose/index"), without building UUID objects."""
    hashed = _NAMESPACE_HASH.copy()
    hashed.update((f"{key}/{purpose}" if index is None else f"{key}/{purpose}/{index}").encode())
    h = hashed.hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"
