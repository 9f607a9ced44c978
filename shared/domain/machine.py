"""The order state machine: ``decide`` what happens (``deciding``), ``apply`` what
happened (``applying``), and ``handle``, which does both and makes replays harmless.

A payment already seen (its order exists) yields the OrderCreated it yielded the
first time. A request already decided is known by its recorded outcome, which the
caller looks up (the flow keeps every request's record, for the life of the order)
and hands to ``handle``: it is repeated, with the same ids, and changes nothing.
"""

from __future__ import annotations

from shared.domain.applying import apply_all
from shared.domain.commands import Command
from shared.domain.deciding import decide
from shared.domain.events import Event
from shared.domain.model import Order


def handle(order: Order | None, command: Command, recorded: Event | None = None) -> tuple[Order | None, list[Event]]:
    """The order after ``command`` and the events it yields. ``recorded``: the outcome
    the request already had, if it was decided before; it is repeated, nothing changes."""
    if recorded is not None:
        return order, [recorded]
    events = decide(order, command)
    return apply_all(order, events), events
