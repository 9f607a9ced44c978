"""The request kinds, one entry each: what a request of that kind is called in its
record, the topic it travels on, how its wire payload is parsed into a command, how the
API builds that payload, and the routes that ask for it with the fields they take.

The flow parses by it (``messages.parse_message``), the API routes, builds and
documents by it (``http_api.routes``, ``http_api.mutations``, ``http_api.openapi``),
and storage labels records by it. A new kind is one entry here, its command, and its
case in the domain's decider (and applier, if it has a new event).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.domain.commands import Command, RefundOrder, RefundProduct, RejectInvalid, UpdateOrder
from shared.schemas import inputs
from shared.schemas.contract import Shape
from shared.schemas.fields import PRODUCT_ID, QUANTITY, TIMEOUT, RouteFields
from shared.schemas.inputs import parse_refund, parse_update
from shared.schemas.requests import RequestHead, refund_fields, request_body, update_fields
from shared.topics import DEFAULT_TOPICS, Topic

BASE = "/api/order"  # every route's prefix
Parser = Callable[[dict[str, Any], datetime | None], Command]
FieldsBuilder = Callable[[dict[str, Any], int | None], dict[str, Any]]


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


@dataclass(frozen=True)
class RequestKind:
    label: str  # the record's ``kind``
    topic: Topic  # its default name; configured as TOPIC_<ROLE>
    commands: tuple[type, ...]  # what ``parse`` makes
    parse: Parser  # the wire payload to its command; Invalid names the field at fault
    fields: FieldsBuilder  # (an ask's fields, its expected version) -> the payload's own fields
    routes: tuple[Route, ...]
    contract: Shape | None = None  # the fields ``parse`` reads: its topic's JSON Schema

    def build(
        self, head: RequestHead, fields: dict[str, Any], expected_version: int | None = None
    ) -> tuple[dict[str, Any], Command]:
        """The request event and its command, parsed once (Invalid when the ask is)."""
        body = request_body(head, self.fields(fields, expected_version))
        return body, self.parse(body, None)  # the body has its requestedAt


REFUND = RequestKind(
    label="refund",
    topic=DEFAULT_TOPICS.refund_request,
    commands=(RefundOrder, RefundProduct),
    parse=parse_refund,
    fields=refund_fields,
    routes=(
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
    contract=inputs.REFUND,
)  # fmt: skip
UPDATE = RequestKind(
    label="update",
    topic=DEFAULT_TOPICS.order_update_request,
    commands=(UpdateOrder,),
    parse=parse_update,
    fields=update_fields,
    routes=(
        Route("PATCH", "/{orderId}", RouteFields(query=(TIMEOUT,)), BodyForm.CHANGES,
              "Change address or isGift (owner or admin) or status (admin)", "OrderChanges", more_problems=(412,)),
    ),
    contract=inputs.UPDATE,
)  # fmt: skip

REQUEST_KINDS: dict[str, RequestKind] = {kind.topic.kind: kind for kind in (REFUND, UPDATE)}
INVALID_LABEL = "invalid"  # the record of a request whose content was invalid (RejectInvalid)


def record_label(command: Command) -> str:
    if isinstance(command, RejectInvalid):
        return INVALID_LABEL
    for kind in REQUEST_KINDS.values():
        if isinstance(command, kind.commands):
            return kind.label
    raise TypeError(f"no request kind makes {type(command).__name__}")


def request_topics() -> tuple[Topic, ...]:
    return tuple(kind.topic for kind in REQUEST_KINDS.values())
