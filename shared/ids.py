"""Deterministic identifiers: the same input always yields the same id."""

from __future__ import annotations

import hashlib
import uuid

EVENT_NAMESPACE = uuid.UUID("5b0d3c2e-8f1a-4c7e-9a55-0c2d7e9f4b11")
_NAMESPACE_BYTES = EVENT_NAMESPACE.bytes


def order_id_for_payment(payment_id: str) -> str:
    """24 lowercase hex characters, shaped like a Mongo ObjectId."""
    return hashlib.sha256(f"order:{payment_id}".encode()).hexdigest()[:24]


def event_id(*parts: object) -> str:
    """A UUID version 5 of the parts, exactly ``uuid.uuid5``'s, without building UUID objects."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + "/".join(map(str, parts)).encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
