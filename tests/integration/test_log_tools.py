"""ops.rebuild and ops.reconcile on a live stack: they agree with a correct store, and name what drifts."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest
from bson.decimal128 import Decimal128

from devkit.sandbox import Stack
from devkit.servers import ROOT
from shared.config import database_name
from shared.ids import order_id_for_payment
from tests.flowkit import payment, refund, update

ADMIN = {"userId": "boss", "roles": ["admin"]}
ORDERS = 30


@pytest.fixture
def busy(stack: Stack) -> Stack:
    """A shop after payments, refunds whole and partial, updates, a cancellation and duplicates."""
    stack.start_flow()
    ids = [order_id_for_payment(f"shop-{i}") for i in range(ORDERS)]
    stack.produce(stack.topics.payment_accepted.name, [(f"shop-{i}", payment(f"shop-{i}")) for i in range(ORDERS)])
    stack.wait_for(lambda: stack.orders.count_documents({}) == ORDERS, what="every order")
    refunds = [(o, refund(f"full-{o}", o)) for o in ids[:5]]
    refunds += [(o, refund(f"part-{o}", o, "apple", 1)) for o in ids[5:15]]
    updates = [(o, update(f"addr-{o}", o, {"address": "9 Side St"})) for o in ids[15:20]]
    updates += [(o, update(f"cancel-{o}", o, {"status": "Cancelled"}, requestedBy=ADMIN)) for o in ids[20:25]]
    stack.produce(stack.topics.refund_request.name, refunds + refunds[:3])
    stack.produce(stack.topics.order_update_request.name, updates)
    wanted = {body["requestId"] for _, body in refunds + updates}
    stack.consume(stack.topics.order_events.name, lambda ms: wanted <= {m.get("requestId") for m in ms})
    return stack


def run(stack: Stack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args], env=stack.env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def fresh_database(stack: Stack, suffix: str) -> str:
    return f"{database_name(stack.settings.mongo_uri)}-{suffix}"


def test_the_rebuilt_orders_are_identical_to_the_live_ones(busy: Stack):
    done = run(busy, "ops.rebuild", "--into", fresh_database(busy, "rebuilt"), "--quiet")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"identical     {ORDERS:>10,}" in done.stdout


def test_reconcile_agrees_with_a_correct_store(busy: Stack):
    done = run(busy, "ops.reconcile", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] is True
    assert result["log"] == result["stored"]
    assert result["log"]["orders"] == ORDERS


def test_a_refunded_amount_changed_by_hand_is_named_by_both_tools(busy: Stack):
    order_id = order_id_for_payment("shop-7")
    busy.orders.update_one({"_id": order_id}, {"$set": {"refundedAmount": Decimal128(Decimal("3.00"))}})
    reconciled = run(busy, "ops.reconcile", "--quiet")
    assert reconciled.returncode == 1
    assert f"order {order_id}: refundedAmount 3, the log gave back 1.25" in reconciled.stdout
    rebuilt = run(busy, "ops.rebuild", "--into", fresh_database(busy, "rebuilt-2"), "--quiet")
    assert rebuilt.returncode == 1
    assert f"differ: {order_id}" in rebuilt.stdout


def test_the_rebuild_refuses_a_database_that_holds_orders(busy: Stack):
    done = run(busy, "ops.rebuild", "--into", database_name(busy.settings.mongo_uri) + "-x", "--quiet")
    assert done.returncode == 0, done.stderr
    again = run(busy, "ops.rebuild", "--into", database_name(busy.settings.mongo_uri) + "-x", "--quiet")
    assert again.returncode == 2
    assert "already holds orders" in again.stderr
