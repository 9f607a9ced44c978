"""Events read back, from order-events payloads and from records of the older form, are
the events that were written."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.events import Event
from shared.schemas.event_codec import event_payload, legacy_event, parse_event
from shared.timefmt import iso
from tests.unit.test_properties import Records, commands, payments


def history(payment, cmds) -> list[tuple[Event, object]]:
    """Every event the core yields for a payment and its commands, with the order it left."""
    records, order, out = Records(), None, []
    for cmd in [payment, *cmds]:
        order, events = records.handle(order, cmd)
        out.extend((event, order) for event in events)
    return out


def older_form(event: Event) -> dict:
    """A record's event as stored before records held the payload: fields by name, money
    in cents, tuples as lists (what BSON gave back), times as text."""
    fields = {k: getattr(event, k) for k in event._fields}
    fields["occurred_at"] = iso(event.occurred_at)
    return json.loads(json.dumps(fields, default=str))


@settings(max_examples=200)
@given(payments(), st.lists(commands, max_size=20))
def test_every_event_the_core_yields_survives_its_payload(payment, cmds):
    for event, order in history(payment, cmds):
        wire = json.loads(json.dumps(event_payload(event, order)), parse_float=Decimal)
        assert parse_event(wire) == event


@settings(max_examples=100)
@given(payments(), st.lists(commands, max_size=20))
def test_every_event_survives_the_older_record_form(payment, cmds):
    for event, _ in history(payment, cmds):
        assert legacy_event(type(event).__name__, older_form(event)) == event


def test_an_event_type_this_service_did_not_write_is_refused():
    payload = {
        "type": "OrderShipped",
        "eventId": "e",
        "orderId": "o",
        "version": 1,
        "occurredAt": "2026-01-01T00:00:00Z",
    }
    with pytest.raises(ValueError, match="OrderShipped"):
        parse_event(payload)
