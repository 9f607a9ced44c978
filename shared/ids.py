"""Deterministic identifiers: the same input always yields the same id."""

from __future__ import annotations

import hashlib
import uuid

_EVENT_NAMESPACE = uuid.UUID("5b0d3c2e-8f1a-4c7e-9a55-0c2d7e9f4b11")


def order_id_for_payment(payment_id: str) -> str:
    """24 lowercase hex characters, shaped like a Mongo ObjectId."""
    return hashlib.sha256(f"order:{payment_id}".encode()).hexdigest()[:24]


def event_id(*parts: object) -> str:
    return str(uuid.uuid5(_EVENT_NAMESPACE, "/".join(str(p) for p in parts)))
