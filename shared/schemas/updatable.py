"""The order fields a client may change: their names on the wire, and the Order's."""

from __future__ import annotations

FIELD_OF_WIRE_NAME: dict[str, str] = {"address": "address", "isGift": "is_gift", "status": "status"}
WIRE_NAME_OF_FIELD: dict[str, str] = {field: wire for wire, field in FIELD_OF_WIRE_NAME.items()}
UPDATABLE = frozenset(FIELD_OF_WIRE_NAME)
