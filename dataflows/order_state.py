"""The flow's keyed step: each order's state in memory, loaded from Mongo when a key has
none, and the commands of a batch with their stored orders and records attached.

Mongo is the order's state store. The keyed step keeps each order in memory while
it is busy and loads it from Mongo (a few queries a batch) when a key has no state:
after any restart, with or without recovery, or after an idle order was evicted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bytewax.connectors.kafka import KafkaSourceMessage
from bytewax.operators import StatefulLogic

from dataflows.triage import Inbound, failed
from shared import tracing
from shared.domain.commands import Command, Request, request_of
from shared.domain.model import Order
from shared.domain.policy import NO_POLICY, Policy
from shared.schemas.outputs import render
from shared.step import Writes, step
from shared.storage import Recorded, record_id
from shared.topics import Topics

# An order in memory keeps the outcomes of its requests whose records may not be stored
# yet: the newest KEPT_OUTCOMES, and any decided within OUTCOME_MEMORY. The sink stores a
# batch's records in the worker's thread soon after the keyed step decides them, so this
# is ample, and many requests to one order do not grow its memory without bound.
KEPT_OUTCOMES = 64
OUTCOME_MEMORY = timedelta(seconds=10)


class OrderLoader(Protocol):
    def load(self, order_ids: Iterable[str]) -> dict[str, Order]: ...

    def recorded(self, record_ids: Iterable[str]) -> dict[str, Recorded]:
        """The records among ``record_ids``, by id."""
        ...


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
    request: Request | None = None  # the command, when it is a request (None: a payment)

    @property
    def record_key(self) -> str | None:
        return _record_key(self.request)


def _record_key(request: Request | None) -> str | None:
    """Where a request's decision is kept; a payment (None) has none: its order is its record."""
    return None if request is None else record_id(request.order_id, request.request_id)


def attach_stored(loader: OrderLoader, held: HeldOrders, batch: list[Inbound]) -> list[tuple[str, Keyed]]:
    wanted = {i.command.order_id for i in batch if i.command.order_id not in held}
    stored = loader.load(wanted) if wanted else {}
    requests = [request_of(i.command) for i in batch]
    keys = [_record_key(r) for r in requests]
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
                r,
            ),
        )
        for i, r, k in zip(batch, requests, keys, strict=True)
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
                key = value.record_key
                stored_record = self._loader.recorded([key]).get(key) if key else None
        self._last_seen = self._clock()
        try:
            decided = self._decided_traced if tracing.on() else self._decided
            writes = decided(value, stored_record)
        except Exception as exc:  # a bug met by this command: dead-lettered, the order unchanged
            request_id = None if value.request is None else value.request.request_id
            fields = {"orderId": command.order_id, "requestId": request_id}
            letter = failed(self._topics, value.source, "deciding", exc, fields)
            return [Writes.of_letter(letter)], StatefulLogic.RETAIN
        return [writes], StatefulLogic.RETAIN

    def _decided(self, value: Keyed, stored_record: Recorded | None) -> Writes:
        """What the command writes; the state moves only once all of it is built."""
        recorded = None if value.request is None else self._recorded_outcome(value.request, stored_record)
        taken = step(self._order, value.command, None if recorded is None else recorded.outcome, self._policy)
        messages = render(taken.events, taken.order, self._topics)
        self._order = taken.order
        outcome = taken.outcome
        if outcome is not None and value.request is not None:
            self._remember(value.request.request_id, outcome)
        return Writes(taken.doc, messages, () if taken.record is None else (taken.record,), counted=taken.counted)

    def _decided_traced(self, value: Keyed, stored: Recorded | None) -> Writes:
        """``_decided`` in a span that continues the message's ``traceparent``; the sink's
        store and publish spans are its children (``Writes.trace``)."""
        from opentelemetry.trace import SpanKind

        source = value.source
        parent = tracing.parent_from(source.headers if source is not None else None)
        with tracing.tracer().start_as_current_span("decide", context=parent, kind=SpanKind.CONSUMER) as span:
            span.set_attribute("order.id", value.command.order_id)
            span.set_attribute("order.command", type(value.command).__name__)
            if source is not None:
                span.set_attribute("messaging.source.name", source.topic or "")
            writes = self._decided(value, stored)
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

    def _recorded_outcome(self, request: Request, stored: Recorded | None) -> Recorded | None:
        kept = self._outcomes.get(request.request_id)
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
