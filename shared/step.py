"""One command's step, as every shell takes it: decide and apply (``handle``), then the
order's document and the request's record to store. Pure: the dataflow's keyed step,
the API tests' deciding fake and the property tests all take this one. ``Writes``: what
the dataflow's sink writes for a step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from shared.domain import handle
from shared.domain.commands import AcceptPayment, Command
from shared.domain.events import Event
from shared.domain.model import Order
from shared.domain.policy import NO_POLICY, Policy
from shared.schemas.outputs import OutMessage
from shared.storage import Recorded, order_to_doc, record_doc


class Step(NamedTuple):
    order: Order | None  # after the command
    events: list[Event]
    doc: dict[str, Any] | None  # the order's document, when the command changed it
    record: dict[str, Any] | None  # the request's record, when a decision is to be kept

    @property
    def outcome(self) -> Recorded | None:
        """The decision as a later delivery of the same request must repeat it."""
        return None if self.record is None or self.order is None else Recorded(self.order.revision, self.events[0])


def step(order: Order | None, command: Command, recorded: Event | None, policy: Policy = NO_POLICY) -> Step:
    """``recorded``: the outcome this request had when first decided, if it was;
    ``policy``: the shop's rules (``shared.domain.policy``)."""
    after, events = handle(order, command, recorded, policy)
    if after is order or after is None:  # nothing decided now changed an order
        return Step(after, events, None, None)
    # A payment leaves no record: its order is its record (and its history's first entry).
    record = None if isinstance(command, AcceptPayment) else record_doc(command, events[0], after)
    return Step(after, events, order_to_doc(after), record)


@dataclass(frozen=True)
class Writes:
    """What one command writes outside the flow: an order and its records to store,
    then messages to send. (Not ``shared.domain.effects``, the stock and money an
    event moves.)"""

    doc: dict[str, Any] | None
    messages: list[OutMessage]
    records: tuple[dict[str, Any], ...] = ()
    trace: tuple[tuple[str, bytes], ...] = ()  # the decide span's traceparent, when tracing is on
