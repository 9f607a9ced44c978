"""The request kinds, one entry each: what a request of that kind is called in its
record, the topic it travels on, how its wire payload is parsed into a command, and how
the API builds that payload. How a kind is served over HTTP (its routes and their
fields) is the API's business: ``http_api.served_kinds``.

The flow parses by it (``messages.parse_message``), the API builds by it
(``http_api.mutations``), and storage labels records by it. A new kind is one entry
here, its routes there, its command, and its case in the domain's decider (and
applier, if it has a new event).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.commands import Command, RefundOrder, RefundProduct, RejectInvalid, Request, UpdateOrder
from shared.schemas import inputs
from shared.schemas.contract import Shape
from shared.schemas.inputs import parse_refund, parse_update
from shared.schemas.requests import RequestHead, refund_fields, request_body, update_fields
from shared.topics import DEFAULT_TOPICS, Topic

Parser = Callable[[dict[str, Any], datetime | None], Command]
FieldsBuilder = Callable[[dict[str, Any], int | None], dict[str, Any]]


@dataclass(frozen=True)
class RequestKind:
    label: str  # the record's ``kind``
    topic: Topic  # its default name; configured as TOPIC_<ROLE>
    commands: tuple[type, ...]  # what ``parse`` makes
    parse: Parser  # the wire payload to its command; Invalid names the field at fault
    fields: FieldsBuilder  # (an ask's fields, its expected version) -> the payload's own fields
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
    contract=inputs.REFUND,
)
UPDATE = RequestKind(
    label="update",
    topic=DEFAULT_TOPICS.order_update_request,
    commands=(UpdateOrder,),
    parse=parse_update,
    fields=update_fields,
    contract=inputs.UPDATE,
)

REQUEST_KINDS: dict[str, RequestKind] = {kind.topic.kind: kind for kind in (REFUND, UPDATE)}
INVALID_LABEL = "invalid"  # the record of a request whose content was invalid (RejectInvalid)


def record_label(command: Request) -> str:
    if isinstance(command, RejectInvalid):
        return INVALID_LABEL
    for kind in REQUEST_KINDS.values():
        if isinstance(command, kind.commands):
            return kind.label
    raise TypeError(f"no request kind makes {type(command).__name__}")


def request_topics() -> tuple[Topic, ...]:
    return tuple(kind.topic for kind in REQUEST_KINDS.values())
