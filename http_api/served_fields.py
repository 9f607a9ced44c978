"""The named values a mutating route accepts, as JSON schemas: the route tables of
``http_api.served_kinds`` are made of them, the API parses by them
(``http_api.route_fields``) and the OpenAPI document states them."""

from __future__ import annotations

from dataclasses import dataclass

from http_api.wire import JsonObject
from shared.schemas.inputs import MAX_ID, MAX_QUANTITY

MAX_TIMEOUT = 30.0
DEFAULT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Field:
    """One named value of a request: its JSON schema says its type and bounds."""

    name: str
    schema: JsonObject
    required: bool = True
    description: str | None = None


@dataclass(frozen=True)
class RouteFields:
    """A mutating route's query parameters and, when it takes one, its JSON body's fields."""

    query: tuple[Field, ...]
    body: tuple[Field, ...] | None = None


TIMEOUT = Field(
    "timeout",
    {"type": "number", "minimum": 0, "maximum": MAX_TIMEOUT, "default": DEFAULT_TIMEOUT},
    required=False,
    description="seconds to wait for the outcome before answering 202",
)
PRODUCT_ID = Field("productId", {"type": "string", "minLength": 1, "maxLength": MAX_ID})
QUANTITY = Field("quantity", {"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY})
