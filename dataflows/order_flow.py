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

from dataflows.store_then_publish import Effects
from shared.domain import AcceptPayment, Command, handle
from shared.domain.model import Order
from shared.schemas.inputs import PaymentReference, parse_message
from shared.schemas.outputs import OutMessage, dead_letter, render
from shared.storage import Recorded, order_to_doc, record_doc, record_id
from shared.topics import Topics, names

log = logging.getLogger(__name__)

FLOW_ID = "orders"
INPUT_STEP = f"{FLOW_ID}.in"  # the step whose snapshots hold the Kafka resume points

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


def triage(topics: Topics, item: Raw) -> list[Command | AwaitingPayment | OutMessage]:
    """A raw message becomes a command, a payment to complete, a dead letter, or both."""
    if isinstance(item, KafkaError):
        if item.msg.value is None:
            # A consumer error with no message (a broker going away, say): nothing to keep.
            log.warning("kafka consumer error on %s: %s", item.msg.topic, item.err)
            return []
        return [_dead(topics, item.msg, f"kafka error: {item.err}")]
    timestamp = item.timestamp[1] if item.timestamp and item.timestamp[0] else None
    parsed = parse_message(topics.input_kind(item.topic), item.value, timestamp)
    out: list[Command | AwaitingPayment | OutMessage] = []
    if parsed.error is not None:
        out.append(_dead(topics, item, parsed.error))
    if isinstance(parsed.command, PaymentReference):
        out.append(AwaitingPayment(parsed.command, item))
    elif parsed.command is not None:
        out.append(parsed.command)
    return out


def _dead(topics: Topics, msg: KafkaSourceMessage, error: str) -> OutMessage:
    return dead_letter(topics, msg.topic, msg.partition, msg.offset, msg.key, msg.value, error)


def complete_payments(
    topics: Topics, completer: PaymentCompleter | None, batch: list[AwaitingPayment]
) -> list[Command | OutMessage]:
    if completer is None:
        return [
            _dead(topics, p.source, "payment has only a paymentId and PAYMENT_SERVICE_URL is not set") for p in batch
        ]
    results = completer.complete([p.ref for p in batch])
    return [r if not isinstance(r, str) else _dead(topics, p.source, r) for p, r in zip(batch, results, strict=True)]


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


def _record_key(command: Command) -> str | None:
    return None if isinstance(command, AcceptPayment) else record_id(command.order_id, command.request_id)


def attach_stored(loader: OrderLoader, held: HeldOrders, batch: list[Command]) -> list[tuple[str, Keyed]]:
    wanted = {c.order_id for c in batch if c.order_id not in held}
    stored = loader.load(wanted) if wanted else {}
    keys = [_record_key(c) for c in batch]
    asked = [k for k in keys if k is not None]
    recorded = loader.recorded(asked) if asked else {}
    return [
        (c.order_id, Keyed(c, stored.get(c.order_id), c.order_id in wanted, recorded.get(k) if k else None))
        for c, k in zip(batch, keys, strict=True)
    ]


class OrderLogic(StatefulLogic[Keyed, Effects, None]):
    """One order's state in the keyed step; evicted after ``idle`` without commands.

    Besides the order it keeps the outcomes of the requests it saw while in memory,
    whose records may not be stored yet when a duplicate arrives."""

    def __init__(
        self, topics: Topics, idle: timedelta, clock: Callable[[], datetime], loader: OrderLoader, held: HeldOrders
    ):
        self._topics = topics
        self._idle = idle
        self._clock = clock
        self._loader = loader
        self._held = held
        self._order: Order | None = None
        self._order_id: str | None = None
        self._outcomes: dict[str, Recorded] = {}
        self._last_seen: datetime | None = None

    def on_item(self, value: Keyed) -> tuple[list[Effects], bool]:
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
        before = self._order
        recorded = self._known(command, stored_record)
        after, events = handle(before, command, None if recorded is None else recorded.outcome)
        self._order = after
        self._last_seen = self._clock()
        changed = after is not before  # only ever by a command decided now
        records = ()
        if changed and after is not None and not isinstance(command, AcceptPayment):
            # A payment leaves no record: its order is its record (and its history's first entry).
            records = (record_doc(command, events[0], after),)
            self._outcomes[command.request_id] = Recorded(after.revision, events[0])
        messages = render(events, after, self._topics, first_time=changed)
        doc = order_to_doc(after) if changed and after is not None else None
        return [Effects(doc, messages, records)], StatefulLogic.RETAIN

    def _known(self, command: Command, stored: Recorded | None) -> Recorded | None:
        if isinstance(command, AcceptPayment):
            return None
        return self._outcomes.get(command.request_id) or stored

    def notify_at(self) -> datetime | None:
        return None if self._last_seen is None else self._last_seen + self._idle

    def on_notify(self) -> tuple[list[Effects], bool]:
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
    sink: Sink[Effects],
    loader: OrderLoader,
    topics: Topics,
    *,
    completer: PaymentCompleter | None = None,
    idle: timedelta = timedelta(seconds=60),
    clock: Callable[[], datetime] = _utcnow,
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
    effects = op.stateful("orders", keyed, lambda _resume: OrderLogic(topics, idle, clock, loader, held))
    effects = op.key_rm("unkey", effects)
    letters = op.map("letters", op.merge("dead-letters", dead, done.trues), lambda m: Effects(None, [m]))
    op.output("store-then-publish", op.merge("all-effects", effects, letters), sink)
    return flow


def get_flow() -> Dataflow:
    """The flow wired to the servers in the environment (KAFKA_URI, MONGO_URI)."""
    from dataflows.flow_metrics import serve_configured
    from dataflows.kafka_io import kafka_source
    from dataflows.mongo_io import MongoOrderLoader
    from dataflows.payment_lookup import PaymentLookup
    from dataflows.setup import prepare
    from dataflows.store_then_publish import StoreThenPublishSink
    from shared.config import load_settings

    settings = load_settings()
    if not settings.brokers or not settings.mongo_uri:
        raise SystemExit("KAFKA_URI and MONGO_URI must be set (make run starts local servers for you)")
    topics = settings.topics
    serve_configured(settings)  # answering from the start, while the topics are made and the cluster forms
    prepare(settings)
    lookup = (
        PaymentLookup(settings.payment_service_url, settings.payment_fetch_timeout)
        if settings.payment_service_url
        else None
    )
    return build_flow(
        kafka_source(
            settings.brokers, names(topics.inputs), settings.batch_size, settings.fetch_wait_ms, settings.idle_poll_ms
        ),
        StoreThenPublishSink(settings.mongo_uri, settings.brokers, topics.order_dlq.name),
        MongoOrderLoader(settings.mongo_uri),
        topics,
        completer=lookup,
        idle=timedelta(seconds=settings.state_idle_seconds),
    )
