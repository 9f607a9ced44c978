"""An outcome told by its event is the outcome the database would have told."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from http_api.mutations import respond
from http_api.outcomes import Decided
from http_api.views import order_view
from shared.domain.model import Order
from shared.schemas.event_codec import event_payload
from shared.step import step
from shared.storage import CLIENT_READ, order_from_doc, read_record
from tests.unit.builders import ORDER_ID, pay, refund_some
from tests.unit.test_properties import commands, one_request_per_id, payments


def as_the_api_reads(doc: dict) -> Order:
    return order_from_doc({k: v for k, v in doc.items() if k not in CLIENT_READ})


def history(payment, cmds) -> list[tuple[dict | None, dict, dict | None, dict | None]]:
    """Each delivery's (order document before, event payload, record, document after),
    as the flow takes them (a request delivered again repeats its recorded outcome), each
    command at a time of its own (``updatedAt`` comes from the event's)."""
    taken = step(None, payment, None)
    order, doc, steps, recorded = taken.order, taken.doc, [], {}
    for i, cmd in enumerate(one_request_per_id(cmds)):
        cmd = cmd._replace(at=cmd.at + timedelta(seconds=i, microseconds=7 * i))
        taken = step(order, cmd, recorded.get(cmd.request_id))
        if taken.record is not None:
            recorded[cmd.request_id] = taken.events[0]
        after = taken.doc or doc
        steps.append((doc, event_payload(taken.events[0], taken.order), taken.record, after))
        order, doc = taken.order, after
    return steps


@settings(max_examples=200)
@given(payments(), st.lists(commands, min_size=1, max_size=20), st.data())
def test_an_outcome_told_by_its_event_answers_as_its_stored_outcome(payment, cmds, data):
    steps = history(payment, cmds)
    for at, (_, event, record, after) in enumerate(steps):
        if record is None:  # nothing stored: a frozen order's rejection, answered before publishing
            continue
        seen = as_the_api_reads(steps[data.draw(st.integers(0, at))][0])  # read at or before the request
        told = Decided.from_event(event, ORDER_ID, seen)
        if told is None:
            continue
        stored = Decided.of(read_record(record), as_the_api_reads(after))
        assert (told.reason, told.detail) == (stored.reason, stored.detail)
        if told.reason is None:
            assert order_view(told.order) == order_view(stored.order)
            assert respond("r", told).headers["ETag"] == respond("r", stored).headers["ETag"]


@settings(max_examples=100)
@given(payments(), st.lists(commands, min_size=1, max_size=20))
def test_every_change_to_the_version_read_is_told_by_its_event(payment, cmds):
    for before, event, record, _ in history(payment, cmds):
        applied = record is not None and record["status"] == "applied"
        if applied and event["version"] == before["version"] + 1:
            assert Decided.from_event(event, ORDER_ID, as_the_api_reads(before)) is not None


def test_an_event_of_another_order_tells_nothing():
    ((before, event, _, _),) = history(pay(), [refund_some("r1", "apple", 1)])
    assert Decided.from_event(event, "0" * 24, as_the_api_reads(before)) is None
