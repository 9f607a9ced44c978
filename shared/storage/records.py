"""A request's record (collection ``order-requests``): its decision, kept for the life
of its order, so a replayed request repeats it; and the order's history."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from shared.domain.commands import Request
from shared.domain.effects import charged, refunded, stock_changes
from shared.domain.events import Event, RequestRejected
from shared.domain.model import Actor, Order
from shared.schemas.event_codec import event_payload, legacy_event, parse_event
from shared.schemas.request_kinds import record_label
from shared.storage.common import cents, money
from shared.timefmt import iso

RECORDS = "order-requests"


class Recorded(NamedTuple):
    """A command's outcome as recorded, and the order revision it left."""

    seq: int
    outcome: Event


def record_id(order_id: str, request_id: str) -> str:
    """One record per request of an order."""
    return f"{order_id}/request/{request_id}"


def record_doc(command: Request, event: Event, order: Order) -> dict[str, Any]:
    """The record of ``command``, decided as ``event``, which left ``order``."""
    rejected = event if isinstance(event, RequestRejected) else None
    return {
        "_id": record_id(order.id, command.request_id),
        "orderId": order.id,
        "seq": order.revision,
        "requestId": command.request_id,
        "kind": record_label(command),
        "requestedBy": actor_fields(command.requested_by),
        "requestedAt": iso(command.at),
        "status": "applied" if rejected is None else "rejected",
        "reason": None if rejected is None else rejected.reason,
        "detail": None if rejected is None else rejected.detail,
        "charged": money(charged(event)),
        "refunded": money(refunded(event)),
        "stock": stock_fields((p, d) for p, d, _ in stock_changes(event)),
        "type": type(event).__name__,
        "event": event_payload(event, order),  # as order-events carries it, read by its parser
    }


def actor_fields(actor: Actor | None) -> dict[str, Any] | None:
    """Who asked, as a record stores it and the history shows it."""
    return None if actor is None else {"userId": actor.user_id, "roles": list(actor.roles)}


def stock_fields(changes: Iterable[tuple[str, int]]) -> list[dict[str, Any]]:
    """(product id, quantity's change) pairs, as a record stores them and the history shows them."""
    return [{"productId": product, "delta": delta} for product, delta in changes]


class RecordView(NamedTuple):
    """A stored request record as its readers (the API's outcomes and history, the
    flow's log) need it."""

    order_id: str
    request_id: str
    label: str  # its request kind's (stored as ``kind``)
    requested_by: Actor | None  # None: a trusted service
    requested_at: str
    rejected: bool
    reason: str | None
    detail: str
    event_type: str
    event_id: str
    version: int
    revision: int
    charged: int  # cents
    refunded: int  # cents
    stock: tuple[tuple[str, int], ...]  # (product id, quantity's change)


def read_record(doc: dict[str, Any]) -> RecordView:
    actor = doc["requestedBy"]
    return RecordView(
        order_id=doc["orderId"],
        request_id=doc["requestId"],
        label=doc["kind"],
        requested_by=None if actor is None else Actor(actor["userId"], tuple(actor["roles"])),
        requested_at=doc["requestedAt"],
        rejected=doc["status"] == "rejected",
        reason=doc["reason"],
        detail=doc["detail"] or "",
        event_type=doc["type"],
        event_id=_event_id(doc["event"]),
        version=doc["event"]["version"],
        revision=doc["seq"],
        charged=cents(doc["charged"]),
        refunded=cents(doc["refunded"]),
        stock=tuple((s["productId"], s["delta"]) for s in doc["stock"]),
    )


def recorded_from_doc(doc: dict[str, Any]) -> Recorded:
    event = doc["event"]
    return Recorded(doc["seq"], parse_event(event) if "eventId" in event else legacy_event(doc["type"], event))


def _event_id(event: dict[str, Any]) -> str:
    return str(event["eventId"] if "eventId" in event else event["event_id"])
