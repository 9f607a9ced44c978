"""Orders as the API shows them: the stored field names with ``_id``, money as numbers."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from bson.decimal128 import Decimal128

from shared.money import json_number
from shared.storage import cents

INTERNAL = {"requests", "origin", "revision"}


def order_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in doc.items() if k not in INTERNAL}


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
    raw = json.dumps([doc["createdAt"], doc["_id"]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """ValueError when the cursor is not one this API made."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, order_id = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise ValueError("not a cursor from this API") from exc
    if not isinstance(created, str) or not isinstance(order_id, str):
        raise ValueError("not a cursor from this API")
    return created, order_id
