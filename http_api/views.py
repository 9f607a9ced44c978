"""Orders and their histories as the API shows them: the stored field names with
``_id``, money as numbers."""

from __future__ import annotations

import base64
import json
from typing import Any

from http_api.by_revision import ByRevision
from http_api.wire import JsonObject
from shared.domain.deciding import created_event_id
from shared.domain.model import Order
from shared.money import json_number
from shared.schemas.inputs import MAX_ID, encodable
from shared.storage import RecordView, actor_fields, order_fields, stock_fields
from shared.timefmt import iso


def order_view(order: Order) -> JsonObject:
    return order_fields(order, json_number)


class RenderedOrders:
    """Orders as JSON bodies, rendered once per revision (``by_revision``)."""

    def __init__(self, size: int = 4_096):
        self._bodies: ByRevision[bytes] = ByRevision(size)

    def body(self, order: Order) -> bytes:
        return self._bodies.get((order.id, order.revision), lambda: json.dumps(order_view(order)).encode())


# The fields of every history entry, in order; ``reason`` and ``detail`` follow when rejected.
HISTORY_FIELDS = ("requestId", "kind", "requestedBy", "requestedAt", "status", "type", "eventId", "version",
                  "revision", "charged", "refunded", "stock")  # fmt: skip


def payment_entry(order: Order) -> JsonObject:
    """The first entry of an order's history, its payment, told by the order itself."""
    payment = RecordView(
        order_id=order.id,
        request_id=order.payment_id,
        label="payment",
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
        stock=tuple((line.product_id, -line.quantity) for line in order.lines),
    )
    return history_entry(payment)


def history_entry(record: RecordView) -> JsonObject:
    """One request that reached an order, as ``GET /:orderId/history`` shows it."""
    values = (record.request_id, record.label, actor_fields(record.requested_by), record.requested_at,
              "rejected" if record.rejected else "applied", record.event_type, record.event_id, record.version,
              record.revision, json_number(record.charged), json_number(record.refunded),
              stock_fields(record.stock))  # fmt: skip
    entry = dict(zip(HISTORY_FIELDS, values, strict=True))
    if record.rejected:
        entry.update(reason=record.reason, detail=record.detail)
    return entry


def encode_cursor(order: Order) -> str:
    """Where a page of a user's orders ends: the last one's creation time (as stored) and id."""
    return _encode([iso(order.created_at), order.id])


def decode_cursor(cursor: str) -> tuple[str, str]:
    """ValueError when the cursor is not one this API made."""
    value = _decode(cursor)
    if not (isinstance(value, list) and len(value) == 2 and all(storable_text(v) for v in value)):
        raise ValueError("not a cursor from this API")
    return value[0], value[1]


def encode_history_cursor(entry: JsonObject) -> str:
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
