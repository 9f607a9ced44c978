"""What crosses the API's wire untyped: JSON objects."""

from __future__ import annotations

from typing import Any

# A JSON object as it is read from or written to the wire: a request's body or query,
# a request event's payload, an ``order-events`` payload, an OpenAPI fragment, a
# response. Never an order or a request record: those are typed (``Order``,
# ``RecordView``), read from their documents by ``shared.storage`` alone.
JsonObject = dict[str, Any]
