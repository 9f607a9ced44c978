"""One command's step, as every shell takes it: decide and apply (``handle``), then the
order's document and the request's record to store. Pure: the dataflow's keyed step,
the API tests' deciding fake and the property tests all take this one. ``Writes``: what
the dataflow's sink writes for a step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from shared.domain import handle
from shared.domain.commands import Command, request_of
from shared.domain.events import Event, OrderCreated
from shared.domain.model import Order
from shared.domain.policy import NO_POLICY, Policy
from shared.schemas.dead_letters import DeadLetter
from shared.schemas.outputs import OutMessage
from shared.storage import Recorded, order_to_doc, record_doc

Counted = tuple[tuple[str, str], ...]  # (record label, outcome) of each command a step decided


class Step(NamedTuple):
    order: Order | None  # after the command
    events: list[Event]
    doc: dict[str, Any] | None  # the order's document, when the command changed it
    record: dict[str, Any] | None  # the request's record, when a decision is to be kept
    counted: Counted = ()  # a payment's order made, a request's decision kept: the flow's metrics

    @property
    def outcome(self) -> Recorded | None:
        """The decision as a later delivery of the same request must repeat it."""
        return None if self.record is None or self.order is None else Recorded(self.order.revision, self.events[0])


def step(order: Order | None, command: Command, recorded: Event | None, policy: Policy = NO_POLICY) -> Step:
    """``recorded``: the outcome this request had when first decided, if it was;
    ``policy``: the shop's rules (``shared.domain.policy``)."""
    after, events = handle(order, command, recorded, policy)
    made: Counted = tuple(("payment", "applied") for e in events if isinstance(e, OrderCreated))
    if after is order or after is None:  # nothing decided now changed an order
        return Step(after, events, None, None, made)
    request = request_of(command)
    if request is None:  # a payment: its order is its record (and its history's first entry)
        return Step(after, events, order_to_doc(after), None, made)
    record = record_doc(request, events[0], after)
    decided = (record["kind"], record["status"])  # its label and outcome, as stored
    return Step(after, events, order_to_doc(after), record, (*made, decided))


@dataclass(frozen=True)
class Writes:
    """What one command writes outside the flow: an order and its records to store,
    then messages to send. (Not ``shared.domain.effects``, the stock and money an
    event moves.)"""

    doc: dict[str, Any] | None
    messages: list[OutMessage]
    records: tuple[dict[str, Any], ...] = ()
    trace: tuple[tuple[str, bytes], ...] = ()  # the decide span's traceparent, when tracing is on
    counted: Counted = ()  # the step's (record label, outcome)s
    dead: tuple[tuple[str, str], ...] = ()  # (reason, source topic) of each dead letter

    @classmethod
    def of_letter(cls, letter: DeadLetter) -> Writes:
        """A dead letter alone: nothing stored, one message sent."""
        return cls(None, [letter], dead=((letter.reason, letter.source),))
