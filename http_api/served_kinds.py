"""How each request kind is served: its routes, with the fields each takes and how its
body is read. The kinds themselves (label, topic, parser, payload builder) are the
shared layer's (``shared.schemas.request_kinds``); this table is the API's alone.

The handlers route and parse by it (``http_api.routes``, ``http_api.mutations``) and
the OpenAPI document states it (``http_api.openapi``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from http_api.served_fields import PRODUCT_ID, QUANTITY, TIMEOUT, RouteFields
from shared.schemas.request_kinds import REFUND, UPDATE, RequestKind

BASE = "/api/order"  # every route's prefix


class BodyForm(StrEnum):
    """What a route's JSON body holds."""

    IGNORED = "ignored"  # not read (the original service's GET routes)
    EMPTY = "empty"  # nothing, or {}
    FIELDS = "fields"  # the route table's body fields, nothing else
    CHANGES = "changes"  # an order's changes (shared.schemas.updatable), with If-Match


@dataclass(frozen=True)
class Route:
    """One route asking for a request of its kind. Its ask's fields are its query's
    (timeout aside) and its body's."""

    method: str
    path: str  # under BASE, with {orderId}
    fields: RouteFields
    body: BodyForm
    summary: str
    body_schema: str | None = None  # the OpenAPI component of its body
    documents_idempotency_key: bool = False
    more_problems: tuple[int, ...] = ()
    hint: str = ""  # what a 400 for a body it does not take says


# By the kind's label (its records' ``kind``).
ROUTES: dict[str, tuple[Route, ...]] = {
    REFUND.label: (
        Route("GET", "/refundOrder/{orderId}", RouteFields(query=(TIMEOUT,)), BodyForm.IGNORED,
              "Refund the whole order (the original route)"),
        Route("GET", "/refundProductFromOrder/{orderId}", RouteFields(query=(TIMEOUT, PRODUCT_ID, QUANTITY)),
              BodyForm.IGNORED, "Refund part of one line (the original route)"),
        Route("POST", "/{orderId}/refund", RouteFields(query=(TIMEOUT,)), BodyForm.EMPTY,
              "Refund the whole order (no body, or {})", documents_idempotency_key=True, more_problems=(422,),
              hint="a whole-order refund takes no fields; to refund one product, POST refund-product"),
        Route("POST", "/{orderId}/refund-product", RouteFields(query=(TIMEOUT,), body=(PRODUCT_ID, QUANTITY)),
              BodyForm.FIELDS, "Refund part of one line", "ProductRefund", True, (422,)),
    ),
    UPDATE.label: (
        Route("PATCH", "/{orderId}", RouteFields(query=(TIMEOUT,)), BodyForm.CHANGES,
              "Change address or isGift (owner or admin) or status (admin)", "OrderChanges", more_problems=(412,)),
    ),
}  # fmt: skip


def routes_of(kind: RequestKind) -> tuple[Route, ...]:
    """The routes that ask for ``kind``: none for a kind that is only produced to Kafka."""
    return ROUTES.get(kind.label, ())
