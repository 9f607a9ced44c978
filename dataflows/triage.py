"""The flow's first steps: raw Kafka messages become commands, or dead letters.

Every step that looks at one message is guarded: whatever the message holds, and
whatever bug it meets, it becomes a dead letter with a short error, never an
exception that ends the process (the supervisor would restart it at the same
offset, and it would end again). Only I/O failures (Mongo, Kafka) end it, so that
recovery retries them instead of dead-lettering good messages.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol, cast

import bytewax.operators as op
from bytewax.connectors.kafka import KafkaError, KafkaSourceMessage
from bytewax.dataflow import Stream, operator

from shared.domain import Command
from shared.schemas.dead_letters import DeadLetter, DeadReason, dead_letter
from shared.schemas.inputs import PaymentReference
from shared.schemas.messages import parse_message
from shared.topics import Topics

log = logging.getLogger(__name__)

Raw = KafkaSourceMessage[bytes | None, bytes | None] | KafkaError[bytes | None, bytes | None]


class PaymentCompleter(Protocol):
    def complete(self, refs: list[PaymentReference]) -> list[Any]: ...


@dataclass(frozen=True)
class AwaitingPayment:
    """A payment message holding only its paymentId: to be completed from the payment
    service, with its source message for the DLQ."""

    ref: PaymentReference
    source: KafkaSourceMessage


@dataclass(frozen=True)
class Inbound:
    """A command with the message it came from (for its dead letter, should it fail)."""

    command: Command
    source: KafkaSourceMessage | None = None


def triage(topics: Topics, item: Raw) -> list[Inbound | AwaitingPayment | DeadLetter]:
    """A raw message becomes a command, a payment to complete, a dead letter, or both."""
    try:
        return _triage(topics, item)
    except Exception as exc:
        return [failed(topics, item.msg if isinstance(item, KafkaError) else item, "reading", exc)]


def _triage(topics: Topics, item: Raw) -> list[Inbound | AwaitingPayment | DeadLetter]:
    if isinstance(item, KafkaError):
        if item.msg.value is None and not _at_an_offset(item.msg):
            # A consumer error of no message (a broker going away, say): nothing to keep,
            # and the partition's resume point stays where it was.
            log.warning("kafka consumer error on %s: %s", item.msg.topic, item.err)
            return []
        # A message librdkafka could not hand over (corrupt, too large): the resume point
        # moves past it, so it is kept and counted as a dead letter, with what it had.
        return [_dead(topics, item.msg, f"kafka error: {item.err}", DeadReason.KAFKA_ERROR)]
    timestamp = item.timestamp[1] if item.timestamp and item.timestamp[0] else None
    parsed = parse_message(topics.input_kind(item.topic or ""), item.value, timestamp)
    out: list[Inbound | AwaitingPayment | DeadLetter] = []
    if parsed.error is not None:
        out.append(_dead(topics, item, parsed.error))
    if isinstance(parsed.command, PaymentReference):
        out.append(AwaitingPayment(parsed.command, item))
    elif parsed.command is not None:
        out.append(Inbound(parsed.command, item))
    return out


def _at_an_offset(msg: KafkaSourceMessage) -> bool:
    return msg.partition is not None and msg.offset is not None and msg.offset >= 0


def _dead(
    topics: Topics, msg: KafkaSourceMessage | None, error: str, reason: DeadReason = DeadReason.INVALID
) -> DeadLetter:
    if msg is None:
        return dead_letter(topics, None, None, None, None, None, error, reason)
    return dead_letter(
        topics, msg.topic, msg.partition, msg.offset, msg.key, msg.value, error, reason, headers=msg.headers
    )


def failed(
    topics: Topics, msg: KafkaSourceMessage | None, step: str, exc: Exception, fields: dict | None = None
) -> DeadLetter:
    """The dead letter of a message a step failed on, with a short error (and a log line,
    with the command's ``fields`` when it had been read: orderId, requestId)."""
    where = "" if msg is None else f" ({msg.topic}/{msg.partition}@{msg.offset})"
    error = f"{step} failed: {type(exc).__name__}: {str(exc)[:300]}"
    extra = {k: v for k, v in (fields or {}).items() if v is not None}
    log.error("%s%s; dead-lettered", error, where, exc_info=exc, extra=extra)
    return _dead(topics, msg, error, DeadReason.INTERNAL)


def complete_payments(
    topics: Topics, completer: PaymentCompleter | None, batch: list[AwaitingPayment]
) -> list[Inbound | DeadLetter]:
    if completer is None:
        reason = "payment has only a paymentId and PAYMENT_SERVICE_URL is not set"
        return [_dead(topics, p.source, reason, DeadReason.PAYMENT_LOOKUP) for p in batch]
    try:
        results = completer.complete([p.ref for p in batch])
    except Exception as exc:
        return [failed(topics, p.source, "completing the payment", exc) for p in batch]
    return [
        Inbound(r, p.source) if not isinstance(r, str) else _dead(topics, p.source, r, DeadReason.PAYMENT_LOOKUP)
        for p, r in zip(batch, results, strict=True)
    ]


@dataclass(frozen=True)
class Triaged:
    """The commands read, and the dead letters of what could not be."""

    oks: Stream[Inbound]
    errs: Stream[DeadLetter]


@operator
def triage_messages(step_id: str, raw: Stream[Raw], topics: Topics, completer: PaymentCompleter | None) -> Triaged:
    """Raw messages as commands (``oks``) and dead letters (``errs``); payments that hold
    only their paymentId are completed from the payment service on the way."""
    triaged = op.flat_map("triage", raw, lambda item: triage(topics, item))
    split = op.branch("dead?", triaged, lambda x: isinstance(x, DeadLetter))
    lookup = op.branch("needs-lookup?", split.falses, lambda x: isinstance(x, AwaitingPayment))
    awaiting = cast(Stream[AwaitingPayment], lookup.trues)
    completed = op.flat_map_batch("complete", awaiting, lambda batch: complete_payments(topics, completer, batch))
    done = op.branch("completed-dead?", completed, lambda x: isinstance(x, DeadLetter))
    oks = op.merge("commands", lookup.falses, done.falses)
    errs = op.merge("dead-letters", split.trues, done.trues)
    return Triaged(cast(Stream[Inbound], oks), cast(Stream[DeadLetter], errs))  # branches keep their union type
