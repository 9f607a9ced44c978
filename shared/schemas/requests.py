"""Request events as the HTTP API publishes them (refund-request, order-update-request).

Pure: the caller passes the time and the random part of new request ids. Each
payload is parsed by the same parser the dataflow uses (``request_kinds``), so both agree.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, NamedTuple

from shared.schemas.contract import Invalid

ORDER_ID = re.compile(r"^[0-9a-f]{24}$")
REQUEST_ID = re.compile(r"^([0-9a-f]{24})-([0-9A-Za-z]{8,64})$")
MAX_IDEMPOTENCY_KEY = 200


def request_id(order_id: str, unique: str) -> str:
    """Request ids start with their order's id, so a request's outcome is found in its order;
    ``unique`` is random (an Idempotency-Key stores the id made for its first use)."""
    return f"{order_id}-{unique}"


def idempotency_hash(user_id: str, key: str) -> str:
    """The same Idempotency-Key from the same user is the same request."""
    if not key or len(key) > MAX_IDEMPOTENCY_KEY:
        raise Invalid(f"Idempotency-Key: 1 to {MAX_IDEMPOTENCY_KEY} characters")
    return hashlib.sha256(f"{user_id}\n{key}".encode()).hexdigest()[:32]


def order_of_request(rid: str) -> str | None:
    match = REQUEST_ID.match(rid)
    return match.group(1) if match else None


def body_fingerprint(label: str, order_id: str, fields: dict[str, Any]) -> str:
    """Tells a retry (same fingerprint) from another request reusing its key: the same
    fields, however their keys are ordered at any depth (JSON with sorted keys)."""
    canonical = json.dumps([str(label), order_id, fields], sort_keys=True, default=repr)
    return hashlib.sha256(canonical.encode()).hexdigest()


class RequestHead(NamedTuple):
    """What every request event carries, whatever its kind."""

    request_id: str
    order_id: str
    user_id: str
    roles: tuple[str, ...]
    at: str  # ISO-8601
    seen_version: int | None  # the order's version its requester read (``handling.handle``)


def request_body(head: RequestHead, fields: dict[str, Any]) -> dict[str, Any]:
    """A request event: its head's fields, then ``fields`` (the kind's own)."""
    body: dict[str, Any] = {
        "requestId": head.request_id,
        "orderId": head.order_id,
        "requestedBy": {"userId": head.user_id, "roles": list(head.roles)},
        "requestedAt": head.at,
        **{k: v for k, v in fields.items() if v is not None},
    }
    if head.seen_version is not None:
        body["seenVersion"] = head.seen_version
    return body


def refund_fields(fields: dict[str, Any], expected_version: int | None) -> dict[str, Any]:
    """A whole-order refund when ``fields`` is empty; else productId and quantity, both
    required: a product refund never becomes a whole one."""
    if not fields:
        return {"kind": "order"}
    return {"kind": "product", "productId": fields["productId"], "quantity": fields["quantity"]}


def update_fields(fields: dict[str, Any], expected_version: int | None) -> dict[str, Any]:
    return {"changes": fields["changes"], "expectedVersion": expected_version}
