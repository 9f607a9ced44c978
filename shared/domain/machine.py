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
from shared.domain.model import Order, is_frozen


def handle(order: Order | None, command: Command, recorded: Event | None = None) -> tuple[Order | None, list[Event]]:
    """The order after ``command`` and the events it yields. ``recorded``: the outcome
    the request already had, if it was decided before; it is repeated, nothing changes."""
    if recorded is not None:
        return order, [recorded]
    events = decide(order, command)
    return apply_all(order, events), events


def final_rejection(order: Order, command: Command) -> Event | None:
    """The outcome ``command`` will have, when it is already certain without the flow:
    ``order`` is frozen, so the rejection decided now is the one the flow would decide
    whenever the command reached it (and, made after the order froze, not record)."""
    if not is_frozen(order):
        return None
    (event,) = decide(order, command)
    return event
