"""The rebuild applies the logged decisions and ends where the flow ended."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ops.rebuild import compare, rebuild
from shared.domain import RefundOrder
from shared.schemas.event_codec import event_payload
from shared.storage import order_to_doc
from tests.unit.builders import AT, ORDER_ID, pay
from tests.unit.test_properties import Records, commands, payments


def logged(payment, cmds):
    """The flow's final order and its order-events payloads, as a consumer reads them."""
    records = Records()
    order, payloads = None, []
    for cmd in [payment, *cmds]:
        order, events = records.handle(order, cmd)
        payloads += [json.loads(json.dumps(event_payload(e, order)), parse_float=Decimal) for e in events]
    return order, payloads


@settings(max_examples=200)
@given(payments(), st.lists(commands, max_size=25), st.data())
def test_the_rebuilt_order_is_the_flows_order_even_with_replayed_copies_in_the_log(payment, cmds, data):
    order, payloads = logged(payment, cmds)
    copies = data.draw(st.lists(st.sampled_from(payloads), max_size=10))
    assert rebuild(payloads + copies) == {order.id: order}


def test_a_request_read_before_its_order_and_decided_later_counts_once_decided():
    early = RefundOrder("r1", ORDER_ID, None, AT)
    order, payloads = logged_with_early_request(early)
    assert rebuild(payloads) == {order.id: order}


def logged_with_early_request(early):
    """A refund read before its payment (order-not-found), then again once the order exists."""
    records = Records()
    _, (not_found,) = records.handle(None, early)
    order, rest = logged(pay(), [early])
    first = json.loads(json.dumps(event_payload(not_found, None)), parse_float=Decimal)
    return order, [first, *rest]


def test_a_document_that_differs_is_named():
    _, payloads = logged_with_early_request(RefundOrder("r1", ORDER_ID, None, AT))
    docs = {i: order_to_doc(o) for i, o in rebuild(payloads).items()}
    live = {i: {**d, "refundedAmount": Decimal("1")} for i, d in docs.items()}
    result = compare(docs, live)
    assert result.differ == [ORDER_ID]
    assert not result.ok
