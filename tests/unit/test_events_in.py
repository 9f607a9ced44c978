"""order-events payloads read back are the events that were written."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.schemas.events_in import parse_event
from shared.schemas.outputs import event_payload
from tests.unit.test_properties import Records, commands, payments


@settings(max_examples=200)
@given(payments(), st.lists(commands, max_size=20))
def test_every_event_the_core_yields_survives_its_payload(payment, cmds):
    records = Records()
    order = None
    for cmd in [payment, *cmds]:
        order, events = records.handle(order, cmd)
        for event in events:
            wire = json.loads(json.dumps(event_payload(event, order)), parse_float=Decimal)
            assert parse_event(wire) == event
