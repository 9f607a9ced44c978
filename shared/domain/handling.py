"""The order state machine: ``decide`` what happens (``deciding``), ``apply`` what
happened (``applying``), and ``handle``, which does both and makes replays harmless.

A payment already seen (its order exists) yields the OrderCreated it yielded the
first time. A request already decided is known by its recorded outcome, which the
caller looks up (the flow keeps every request's record, for the life of the order)
and hands to ``handle``: it is repeated, with the same ids, and changes nothing.
"""

from __future__ import annotations

from shared.domain.applying import apply_all
from shared.domain.commands import Command, request_of
from shared.domain.deciding import decide
from shared.domain.events import Event, RequestRejected
from shared.domain.model import Order, is_frozen
from shared.domain.policy import NO_POLICY, Policy


def handle(
    order: Order | None, command: Command, recorded: Event | None = None, policy: Policy = NO_POLICY
) -> tuple[Order | None, list[Event]]:
    """The order after ``command`` and the events it yields. ``recorded``: the outcome
    the request already had, if it was decided before; it is repeated, nothing changes."""
    if recorded is not None:
        return order, [recorded]
    events = decide(order, command, policy)
    if order is not None and _needs_no_record(order, command):
        events = [e._replace(recorded=False) if isinstance(e, RequestRejected) else e for e in events]
    return apply_all(order, events), events


def _needs_no_record(order: Order, command: Command) -> bool:
    """A frozen order (refunded, cancelled) rejects every request, always the same way,
    so deciding one again gives the same events: a request that no one waits on the
    record of changes nothing, and a refund of a refunded order repeated any number of
    times grows nothing. Someone may wait on it when its requester saw the order before
    it froze (``seen_version`` below the frozen version: the API's requests, made while
    it could still change, a few in flight at most); those are recorded as any other."""
    request = request_of(command)
    if request is None or not is_frozen(order):
        return False
    return request.seen_version is None or request.seen_version >= order.version


def final_rejection(order: Order, command: Command) -> RequestRejected | None:
    """The rejection ``command`` will have, when it is already certain without the flow:
    ``order`` is frozen, so the rejection decided now is the one the flow would decide
    whenever the command reached it."""
    if not is_frozen(order):
        return None
    _, (event,) = handle(order, command)
    return event if isinstance(event, RequestRejected) else None
