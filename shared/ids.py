"""Deterministic identifiers: the same input always yields the same id."""

from __future__ import annotations

import hashlib
import uuid

EVENT_NAMESPACE = uuid.UUID("5b0d3c2e-8f1a-4c7e-9a55-0c2d7e9f4b11")
_NAMESPACE_HASH = hashlib.sha1(EVENT_NAMESPACE.bytes)
_VERSION_MASK = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_VERSION_BITS = (0x5000 << 64) | (0x8000 << 48)  # version 5, RFC 4122 variant


def order_id_for_payment(payment_id: str) -> str:
    """24 lowercase hex characters, shaped like a Mongo ObjectId."""
    return hashlib.sha256(f"order:{payment_id}".encode()).hexdigest()[:24]


def event_id(*parts: object) -> str:
    """A UUID version 5 of the parts, exactly ``uuid.uuid5``'s, without building UUID objects."""
    hashed = _NAMESPACE_HASH.copy()
    hashed.update("/".join(map(str, parts)).encode())
    h = "%032x" % (int.from_bytes(hashed.digest()[:16]) & _VERSION_MASK | _VERSION_BITS)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
