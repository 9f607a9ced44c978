"""Reconciliation: the stored money and stock against what the log says."""

from __future__ import annotations

import json
from decimal import Decimal

from ops.reconcile import from_log, from_store, reconcile, summary
from shared.schemas.outputs import render
from shared.storage import order_to_doc
from shared.topics import Topics
from tests.unit.builders import pay, refund_some
from tests.unit.test_properties import Records

TOPICS = Topics()


def shop():
    """One order refunded in part: its stored document and its log."""
    records = Records()
    order, messages = None, []
    for cmd in [pay(), refund_some("r1", "apple", 1), refund_some("r2", "pear", 2)]:
        order, events = records.handle(order, cmd)
        messages += render(events, order, TOPICS)
    wire = [(m.topic, json.loads(json.dumps(m.value), parse_float=Decimal)) for m in messages]
    events = [v for t, v in wire if t == TOPICS.order_events.name]
    stock = [v for t, v in wire if t == TOPICS.quantity_update.name]
    return order_to_doc(order), events, stock


def test_a_shop_whose_store_follows_its_log_agrees():
    doc, events, stock = shop()
    log, store = from_log(events + events, stock + stock), from_store([doc])  # replayed copies count once
    drift = reconcile(log, store)
    assert drift.ok
    assert summary(log, store, drift)["log"] == {"orders": 1, "charged": 23.75, "refunded": 21.25, "unitsOut": 2}


def test_a_refunded_amount_changed_by_hand_names_the_order():
    doc, events, stock = shop()
    doc["refundedAmount"] = Decimal("5")
    drift = reconcile(from_log(events, stock), from_store([doc]))
    assert list(drift.orders) == [doc["_id"]]
    assert drift.orders[doc["_id"]] == "refundedAmount 5, the log gave back 21.25"


def test_a_missing_stock_message_names_the_product():
    doc, events, stock = shop()
    without_pear = [m for m in stock if not (m["productId"] == "pear" and m["delta"] > 0)]
    drift = reconcile(from_log(events, without_pear), from_store([doc]))
    assert list(drift.products) == ["pear"]
    assert drift.orders == {}


def test_an_order_stored_without_its_events_drifts():
    doc, _, _ = shop()
    drift = reconcile(from_log([], []), from_store([doc]))
    assert drift.orders == {doc["_id"]: "stored, not in the log"}
