"""An input message, bytes in, as its command or the reason it goes to the dead letters:
the payment parser for payments, each request kind's own parser for its topic
(``request_kinds``). Pure; nothing here raises on bad input."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.commands import Command, RejectInvalid
from shared.schemas.contract import Invalid
from shared.schemas.inputs import PaymentReference, decode_json, is_id, parse_payment, request_time
from shared.schemas.request_kinds import REQUEST_KINDS
from shared.timefmt import time_from_millis
from shared.topics import Kind


@dataclass(frozen=True, slots=True)
class Parsed:
    command: Command | PaymentReference | None = None
    error: str | None = None  # set when the message belongs in the dead-letter topic


def parse_message(kind: str, value: bytes | None, timestamp_ms: int | None) -> Parsed:
    fallback_at = message_time(timestamp_ms)
    try:
        body = decode_json(value)
    except Invalid as exc:
        return Parsed(error=str(exc))
    try:
        return Parsed(command=_parser(kind)(body, fallback_at))
    except Invalid as exc:
        rejection = _rejection(kind, body, str(exc), fallback_at)
        return Parsed(command=rejection, error=str(exc))


def message_time(timestamp_ms: int | None) -> datetime | None:
    """The Kafka timestamp as a time; none when absent or outside the calendar
    (a producer may set any 64-bit value), as if the message had no timestamp."""
    if not timestamp_ms:
        return None
    try:
        return time_from_millis(timestamp_ms)
    except ValueError:
        return None


def _parser(kind: str) -> Any:
    return parse_payment if kind == Kind.PAYMENT else REQUEST_KINDS[kind].parse


def _rejection(kind: str, body: dict[str, Any], error: str, fallback_at: datetime | None) -> RejectInvalid | None:
    """An invalid request still gets its outcome event when its ids can be read."""
    if kind == Kind.PAYMENT:
        return None
    request_id, order_id = body.get("requestId"), body.get("orderId")
    if not (is_id(request_id) and is_id(order_id)):
        return None
    try:
        at = request_time(body, fallback_at)
    except Invalid:
        return None
    return RejectInvalid(request_id, order_id, error, at)
