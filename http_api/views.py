"""Orders as the API shows them: the stored field names with ``_id``, money as numbers."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from bson.decimal128 import Decimal128

from shared.domain.deciding import created_event_id
from shared.money import json_number
from shared.schemas.inputs import MAX_ID, encodable
from shared.storage import INTERNAL_FIELDS, RecordView, cents, order_from_doc, read_record
from shared.timefmt import iso


def order_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in doc.items() if k not in INTERNAL_FIELDS}


class RenderedOrders:
    """Orders as JSON bodies, kept by (id, revision): only the flow writes orders,
    one document per revision, so a revision's body never changes. Reading the
    document stays (that is what keeps reads fresh); rendering it is skipped."""

    def __init__(self, size: int = 4_096):
        self._size = size
        self._bodies: dict[tuple[str, int], bytes] = {}

    def body(self, doc: dict[str, Any]) -> bytes:
        key = (doc["_id"], doc["revision"])
        body = self._bodies.get(key)
        if body is None:
            body = json.dumps(order_view(doc)).encode()
            if len(self._bodies) >= self._size:
                del self._bodies[next(iter(self._bodies))]  # the oldest
            self._bodies[key] = body
        return body


# The fields of every history entry, in order; ``reason`` and ``detail`` follow when rejected.
HISTORY_FIELDS = ("requestId", "kind", "requestedBy", "requestedAt", "status", "type", "eventId", "version",
                  "revision", "charged", "refunded", "stock")  # fmt: skip


def payment_entry(doc: dict[str, Any]) -> dict[str, Any]:
    """The first entry of an order's history, its payment, told by the order itself."""
    order = order_from_doc(doc)
    payment = RecordView(
        request_id=order.payment_id,
        kind="payment",
        requested_by=None,
        requested_at=iso(order.created_at),
        rejected=False,
        reason=None,
        detail="",
        event_type="OrderCreated",
        event_id=created_event_id(order.payment_id),
        version=1,
        revision=1,
        charged=order.total_price,
        refunded=0,
        stock=[{"productId": line.product_id, "delta": -line.quantity} for line in order.lines],
    )
    return _entry(payment)


def history_entry(doc: dict[str, Any]) -> dict[str, Any]:
    """One request that reached an order, as ``GET /:orderId/history`` shows it."""
    return _entry(read_record(doc))


def _entry(record: RecordView) -> dict[str, Any]:
    values = (record.request_id, record.kind, record.requested_by, record.requested_at,
              "rejected" if record.rejected else "applied", record.event_type, record.event_id, record.version,
              record.revision, json_number(record.charged), json_number(record.refunded), record.stock)  # fmt: skip
    entry = dict(zip(HISTORY_FIELDS, values, strict=True))
    if record.rejected:
        entry.update(reason=record.reason, detail=record.detail)
    return entry


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal128):
        return json_number(cents(value))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def encode_cursor(doc: dict[str, Any]) -> str:
    return _encode([doc["createdAt"], doc["_id"]])


def decode_cursor(cursor: str) -> tuple[str, str]:
    """ValueError when the cursor is not one this API made."""
    value = _decode(cursor)
    if not (isinstance(value, list) and len(value) == 2 and all(storable_text(v) for v in value)):
        raise ValueError("not a cursor from this API")
    return value[0], value[1]


def encode_history_cursor(entry: dict[str, Any]) -> str:
    return _encode({"seq": entry["revision"]})


def decode_history_cursor(cursor: str) -> int:
    value = _decode(cursor)
    seq = value.get("seq") if isinstance(value, dict) else None
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < 2**63:
        raise ValueError("not a cursor from this API")
    return seq


def storable_text(value: object) -> bool:
    """A string a query may hold: an id's length at most, and encodable (no lone surrogate)."""
    return isinstance(value, str) and len(value) <= MAX_ID and encodable(value)


def _encode(value: Any) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, RecursionError) as exc:
        raise ValueError("not a cursor from this API") from exc
