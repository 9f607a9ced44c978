"""Request events as the HTTP API publishes them (refund-request, order-update-request).

Pure: the caller passes the time and the random part of new request ids. Each
payload is validated with the same parser the dataflow uses, so both agree.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from shared.schemas.inputs import Invalid, parse_refund, parse_update

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


def body_fingerprint(kind: str, order_id: str, fields: dict[str, Any]) -> str:
    """Tells a retry (same fingerprint) from another request reusing its key."""
    canonical = repr((str(kind), order_id, sorted(fields.items())))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _actor(user_id: str, roles: list[str]) -> dict[str, Any]:
    return {"userId": user_id, "roles": list(roles)}


def refund_request(
    rid: str,
    order_id: str,
    user_id: str,
    roles: list[str],
    at: str,
    product: tuple[Any, Any] | None,
    seen_version: int | None = None,
) -> dict[str, Any]:
    """A whole-order refund when ``product`` is None; else ``product`` is (productId,
    quantity), both required: a product refund never becomes a whole one."""
    body: dict[str, Any] = {
        "requestId": rid,
        "orderId": order_id,
        "kind": "order" if product is None else "product",
        "requestedBy": _actor(user_id, roles),
        "requestedAt": at,
    }
    if product is not None:
        body["productId"], body["quantity"] = product
    if seen_version is not None:
        body["seenVersion"] = seen_version
    parse_refund(body, at)  # raises Invalid with the field at fault
    return body


def update_request(
    rid: str,
    order_id: str,
    user_id: str,
    roles: list[str],
    at: str,
    changes: Any,
    expected_version: int | None,
    seen_version: int | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "requestId": rid,
        "orderId": order_id,
        "changes": changes,
        "requestedBy": _actor(user_id, roles),
        "requestedAt": at,
    }
    if expected_version is not None:
        body["expectedVersion"] = expected_version
    if seen_version is not None:
        body["seenVersion"] = seen_version
    parse_update(body, at)
    return body
