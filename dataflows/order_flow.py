"""The order dataflow: payments and requests in, orders to Mongo, events to Kafka.

    python -m bytewax.run "dataflows.order_flow:get_flow()"            # config from env / .env
    python -m bytewax.run "dataflows.order_flow:get_flow()" -w 2       # two workers
    python -m bytewax.run "dataflows.order_flow:get_flow()" -r DIR -s 5 -b 0   # with recovery

``get_flow()`` builds the flow from the settings (and makes missing topics and
indexes); ``build_flow`` takes its parts, for tests.

Mongo is the order's state store. The keyed step keeps each order in memory while
it is busy and loads it from Mongo (a few queries a batch) when a key has no state:
after any restart, with or without recovery, or after an idle order was evicted.

Every decided request leaves a record (``shared.storage``), kept for the life of
the order; the load step looks up the records of each batch's requests (one query
a batch), so a request already decided, however long ago, yields the events it
yielded the first time, with the same ids, and changes nothing: a replay from any
offset is harmless. One sink writes each batch in this order: orders, records,
then Kafka (``dataflows.store_then_publish`` says why).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import bytewax.operators as op
from bytewax.connectors.kafka import KafkaError, KafkaSourceMessage
from bytewax.dataflow import Dataflow
from bytewax.inputs import Source
from bytewax.operators import StatefulLogic
from bytewax.outputs import Sink

from dataflows.store_then_publish import Writes
from shared import tracing
from shared.domain import AcceptPayment, Command
from shared.domain.model import Order
from shared.domain.policy import NO_POLICY, Policy
from shared.kafka_config import fetch_wait_for
from shared.schemas.dead_letters import DeadReason, dead_letter
from shared.schemas.inputs import PaymentReference
from shared.schemas.messages import parse_message
from shared.schemas.outputs import OutMessage, render
from shared.step import step
from shared.storage import Recorded, record_id
from shared.topics import Topics, names

log = logging.getLogger(__name__)

FLOW_ID = "orders"
INPUT_STEP = f"{FLOW_ID}.in"  # the step whose snapshots hold the Kafka resume points
# An order in memory keeps the outcomes of its requests whose records may not be stored
# yet: the newest KEPT_OUTCOMES, and any decided within OUTCOME_MEMORY. The sink stores a
# batch's records in the worker's thread soon after the keyed step decides them, so this
# is ample, and many requests to one order do not grow its memory without bound.
KEPT_OUTCOMES = 64
OUTCOME_MEMORY = timedelta(seconds=10)

Raw = KafkaSourceMessage[bytes | None, bytes | None] | KafkaError[bytes | None, bytes | None]


class OrderLoader(Protocol):
    def load(self, order_ids: Iterable[str]) -> dict[str, Order]: ...

    def recorded(self, record_ids: Iterable[str]) -> dict[str, Recorded]:
        """The records among ``record_ids``, by id."""
        ...


class PaymentCompleter(Protocol):
    def complete(self, refs: list[PaymentReference]) -> list[Any]: ...


@dataclass(frozen=True)
class AwaitingPayment:
    """A payment message holding only its paymentId: to be completed from the payment
    service, with its source message for the DLQ."""

    ref: PaymentReference
    source: KafkaSourceMessage


# --- steps as plain functions ---------------------------------------------------
#
# Every step that looks at one message is guarded: whatever the message holds, and
# whatever bug it meets, it becomes a dead letter with a short error, never an
# exception that ends the process (the supervisor would restart it at the same
# offset, and it would end again). Only I/O failures (Mongo, Kafka) end it, so that
# recovery retries them instead of dead-lettering good messages.


@dataclass(frozen=True)
class Inbound:
    """A command with the message it came from (for its dead letter, should it fail)."""

    command: Command
    source: KafkaSourceMessage | None = None


def triage(topics: Topics, item: Raw) -> list[Inbound | AwaitingPayment | OutMessage]:
    """A raw message becomes a command, a payment to complete, a dead letter, or both."""
    try:
        return _triage(topics, item)
    except Exception as exc:
        return [_failed(topics, item.msg if isinstance(item, KafkaError) else item, "reading", exc)]


def _triage(topics: Topics, item: Raw) -> list[Inbound | AwaitingPayment | OutMessage]:
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
    parsed = parse_message(topics.input_kind(item.topic), item.value, timestamp)
    out: list[Inbound | AwaitingPayment | OutMessage] = []
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
) -> OutMessage:
    if msg is None:
        return dead_letter(topics, None, None, None, None, None, error, reason)
    return dead_letter(
        topics, msg.topic, msg.partition, msg.offset, msg.key, msg.value, error, reason, headers=msg.headers
    )


def _failed(
    topics: Topics, msg: KafkaSourceMessage | None, step: str, exc: Exception, fields: dict | None = None
) -> OutMessage:
    """The dead letter of a message a step failed on, with a short error (and a log line,
    with the command's ``fields`` when it had been read: orderId, requestId)."""
    where = "" if msg is None else f" ({msg.topic}/{msg.partition}@{msg.offset})"
    error = f"{step} failed: {type(exc).__name__}: {str(exc)[:300]}"
    extra = {k: v for k, v in (fields or {}).items() if v is not None}
    log.error("%s%s; dead-lettered", error, where, exc_info=exc, extra=extra)
    return _dead(topics, msg, error, DeadReason.INTERNAL)


def complete_payments(
    topics: Topics, completer: PaymentCompleter | None, batch: list[AwaitingPayment]
) -> list[Inbound | OutMessage]:
    if completer is None:
        reason = "payment has only a paymentId and PAYMENT_SERVICE_URL is not set"
        return [_dead(topics, p.source, reason, DeadReason.PAYMENT_LOOKUP) for p in batch]
    try:
        results = completer.complete([p.ref for p in batch])
    except Exception as exc:
        return [_failed(topics, p.source, "completing the payment", exc) for p in batch]
    return [
        Inbound(r, p.source) if not isinstance(r, str) else _dead(topics, p.source, r, DeadReason.PAYMENT_LOOKUP)
        for p, r in zip(batch, results, strict=True)
    ]


class HeldOrders:
    """The ids of the orders this process holds in its keyed step.

    Their state in memory is the truth (one worker owns a key), so the load step
    does not fetch them again. An id is added when its state is made and removed
    when it is evicted; a command that finds its order evicted after all, between
    the two steps, is loaded by the keyed step itself (``Keyed.looked_up``)."""

    def __init__(self) -> None:
        self._ids: set[str] = set()

    def __contains__(self, order_id: str) -> bool:
        return order_id in self._ids

    def add(self, order_id: str) -> None:
        self._ids.add(order_id)

    def discard(self, order_id: str) -> None:
        self._ids.discard(order_id)


@dataclass(frozen=True)
class Keyed:
    """A command with its stored order, when the load step looked it up, and the
    record of its earlier decision, when it has one."""

    command: Command
    stored: Order | None
    looked_up: bool
    recorded: Recorded | None = None
    source: KafkaSourceMessage | None = None


def _record_key(command: Command) -> str | None:
    return None if isinstance(command, AcceptPayment) else record_id(command.order_id, command.request_id)


def attach_stored(loader: OrderLoader, held: HeldOrders, batch: list[Inbound]) -> list[tuple[str, Keyed]]:
    wanted = {i.command.order_id for i in batch if i.command.order_id not in held}
    stored = loader.load(wanted) if wanted else {}
    keys = [_record_key(i.command) for i in batch]
    asked = [k for k in keys if k is not None]
    recorded = loader.recorded(asked) if asked else {}
    return [
        (
            i.command.order_id,
            Keyed(
                i.command,
                stored.get(i.command.order_id),
                i.command.order_id in wanted,
                recorded.get(k) if k else None,
                i.source,
            ),
        )
        for i, k in zip(batch, keys, strict=True)
    ]


class OrderLogic(StatefulLogic[Keyed, Writes, None]):
    """One order's state in the keyed step; evicted after ``idle`` without commands.

    Besides the order it keeps the outcomes of the requests it saw while in memory,
    whose records may not be stored yet when a duplicate arrives."""

    def __init__(
        self,
        topics: Topics,
        idle: timedelta,
        clock: Callable[[], datetime],
        loader: OrderLoader,
        held: HeldOrders,
        policy: Policy = NO_POLICY,
    ):
        self._topics = topics
        self._policy = policy
        self._idle = idle
        self._clock = clock
        self._loader = loader
        self._held = held
        self._order: Order | None = None
        self._order_id: str | None = None
        self._outcomes: dict[str, tuple[Recorded, datetime]] = {}
        self._last_seen: datetime | None = None

    def on_item(self, value: Keyed) -> tuple[list[Writes], bool]:
        command = value.command
        stored_record = value.recorded
        if self._order_id is None:
            self._order_id = command.order_id
            self._held.add(command.order_id)
            if value.looked_up:
                self._order = value.stored
            else:  # evicted since the load step: load it here, and look again for its record
                self._order = self._loader.load([command.order_id]).get(command.order_id)
                key = _record_key(command)
                stored_record = self._loader.recorded([key]).get(key) if key else None
        self._last_seen = self._clock()
        try:
            if tracing.on():
                writes = self._decided_traced(command, stored_record, value.source)
            else:
                writes = self._decided(command, stored_record)
        except Exception as exc:  # a bug met by this command: dead-lettered, the order unchanged
            fields = {"orderId": command.order_id, "requestId": getattr(command, "request_id", None)}
            failed = _failed(self._topics, value.source, "deciding", exc, fields)
            return [Writes(None, [failed])], StatefulLogic.RETAIN
        return [writes], StatefulLogic.RETAIN

    def _decided(self, command: Command, stored_record: Recorded | None) -> Writes:
        """What the command writes; the state moves only once all of it is built."""
        recorded = self._known(command, stored_record)
        taken = step(self._order, command, None if recorded is None else recorded.outcome, self._policy)
        messages = render(taken.events, taken.order, self._topics)
        self._order = taken.order
        outcome = taken.outcome
        if outcome is not None:
            self._remember(command.request_id, outcome)
        return Writes(taken.doc, messages, () if taken.record is None else (taken.record,))

    def _decided_traced(self, command: Command, stored: Recorded | None, source: KafkaSourceMessage | None) -> Writes:
        """``_decided`` in a span that continues the message's ``traceparent``; the sink's
        store and publish spans are its children (``Writes.trace``)."""
        from opentelemetry.trace import SpanKind

        parent = tracing.parent_from(source.headers if source is not None else None)
        with tracing.tracer().start_as_current_span("decide", context=parent, kind=SpanKind.CONSUMER) as span:
            span.set_attribute("order.id", command.order_id)
            span.set_attribute("order.command", type(command).__name__)
            if source is not None:
                span.set_attribute("messaging.source.name", source.topic or "")
            writes = self._decided(command, stored)
            return dataclasses.replace(writes, trace=tuple(tracing.kafka_headers()))

    def _remember(self, request_id: str, outcome: Recorded) -> None:
        """Keep the outcome until its record is surely stored (see ``KEPT_OUTCOMES``)."""
        now = self._last_seen or self._clock()
        self._outcomes[request_id] = (outcome, now)
        while len(self._outcomes) > KEPT_OUTCOMES:
            oldest = next(iter(self._outcomes))
            if now - self._outcomes[oldest][1] < OUTCOME_MEMORY:
                break
            del self._outcomes[oldest]

    def _known(self, command: Command, stored: Recorded | None) -> Recorded | None:
        if isinstance(command, AcceptPayment):
            return None
        kept = self._outcomes.get(command.request_id)
        return kept[0] if kept is not None else stored

    def notify_at(self) -> datetime | None:
        return None if self._last_seen is None else self._last_seen + self._idle

    def on_notify(self) -> tuple[list[Writes], bool]:
        if self._order_id is not None:
            self._held.discard(self._order_id)
        return [], StatefulLogic.DISCARD

    def snapshot(self) -> None:
        # Mongo holds the state; after a resume each key is loaded from it again.
        return None


def _utcnow() -> datetime:
    return datetime.now(UTC)


# --- the flow -----------------------------------------------------------------


def build_flow(
    source: Source[Raw],
    sink: Sink[Writes],
    loader: OrderLoader,
    topics: Topics,
    *,
    completer: PaymentCompleter | None = None,
    idle: timedelta = timedelta(seconds=60),
    clock: Callable[[], datetime] = _utcnow,
    policy: Policy = NO_POLICY,
) -> Dataflow:
    flow = Dataflow(FLOW_ID)
    raw = op.input(INPUT_STEP.removeprefix(f"{FLOW_ID}."), flow, source)
    triaged = op.flat_map("triage", raw, lambda item: triage(topics, item))
    split = op.branch("dead?", triaged, lambda x: isinstance(x, OutMessage))
    dead = split.trues
    lookup = op.branch("needs-lookup?", split.falses, lambda x: isinstance(x, AwaitingPayment))
    completed = op.flat_map_batch("complete", lookup.trues, lambda batch: complete_payments(topics, completer, batch))
    done = op.branch("completed-dead?", completed, lambda x: isinstance(x, OutMessage))
    commands = op.merge("commands", lookup.falses, done.falses)
    held = HeldOrders()
    keyed = op.flat_map_batch("load", commands, lambda batch: attach_stored(loader, held, batch))
    writes = op.stateful("orders", keyed, lambda _resume: OrderLogic(topics, idle, clock, loader, held, policy))
    writes = op.key_rm("unkey", writes)
    letters = op.map("letters", op.merge("dead-letters", dead, done.trues), lambda m: Writes(None, [m]))
    op.output("store-then-publish", op.merge("all-effects", writes, letters), sink)
    return flow


def get_flow() -> Dataflow:
    """The flow wired to the servers in the environment (KAFKA_URI, MONGO_URI)."""
    from dataflows.flow_metrics import serve_configured
    from dataflows.kafka_io import kafka_source
    from dataflows.mongo_io import MongoOrderLoader
    from dataflows.payment_lookup import PaymentLookup
    from dataflows.setup import prepare
    from dataflows.store_then_publish import SinkSettings, StoreThenPublishSink
    from shared.config import jwt_secret_problem, settings_or_exit
    from shared.kafka_config import refusals
    from shared.logs import configure_logging

    settings = settings_or_exit()
    configure_logging("flow", settings.log_format, settings.log_level)
    tracing.start("order-flow")
    if not settings.brokers or not settings.mongo_uri:
        raise SystemExit("KAFKA_URI and MONGO_URI must be set (make run starts local servers for you)")
    if settings.jwt_secret is not None and (problem := jwt_secret_problem(settings.jwt_secret)) is not None:
        raise SystemExit(f"refusing to start: {problem}")  # the flow verifies no token, but shares the setting
    topics = settings.topics
    serve_configured(settings)  # answering from the start, while the topics are made and the cluster forms
    with refusals():
        prepare(settings)
    lookup = (
        PaymentLookup(settings.payment_service_url, settings.payment_fetch_timeout)
        if settings.payment_service_url
        else None
    )
    return build_flow(
        kafka_source(
            settings.kafka,
            names(topics.inputs),
            settings.batch_size,
            fetch_wait_for(settings.kafka, settings.fetch_wait_ms),
            settings.idle_poll_ms,
            settings.idle_poll_most_ms,
            settings.kafka_group_id,
        ),
        StoreThenPublishSink(
            SinkSettings(
                settings.mongo_uri,
                settings.kafka,
                topics.order_dlq.name,
                settings.kafka_message_timeout_ms,
                settings.fault_after_store,
            )
        ),
        MongoOrderLoader(settings.mongo_uri),
        topics,
        completer=lookup,
        idle=timedelta(seconds=settings.state_idle_seconds),
        policy=settings.policy,
    )
