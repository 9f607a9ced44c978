"""Invariants of the order state machine, over generated command sequences."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain import Line, Order, RequestRejected, Status, handle
from tests.unit.builders import ADMIN, OWNER, STRANGER, change, pay, refund_all, refund_some

PRODUCTS = ["apple", "pear", "plum"]
actors = st.sampled_from([OWNER, ADMIN, STRANGER, None])
request_ids = st.sampled_from([f"r{i}" for i in range(12)])

lines = st.lists(
    st.builds(Line, st.sampled_from(PRODUCTS), st.integers(1, 5), st.integers(0, 10_000)),
    min_size=1,
    max_size=4,
)


@st.composite
def payments(draw):
    drawn = tuple(draw(lines))
    shipping = draw(st.integers(0, 1_000))
    return pay(lines=drawn, total=sum(line.quantity * line.price for line in drawn) + shipping)


commands = st.one_of(
    st.builds(refund_all, request_ids, actors),
    st.builds(refund_some, request_ids, st.sampled_from([*PRODUCTS, "kiwi"]), st.integers(1, 6), actors),
    st.builds(
        lambda rid, by, status: change(rid, by=by, status=status), request_ids, actors, st.sampled_from(list(Status))
    ),
    st.builds(
        lambda rid, by, address: change(rid, by=by, address=address), request_ids, actors, st.sampled_from("abc")
    ),
)


def run(order: Order | None, cmds) -> tuple[Order | None, list]:
    outcomes = []
    for cmd in cmds:
        order, events = handle(order, cmd)
        outcomes.append(events)
    return order, outcomes


def assert_invariants(order: Order) -> None:
    for line in order.lines:
        assert 0 <= line.refunded_quantity <= line.quantity
    assert 0 <= order.refunded_amount <= order.total_price
    assert order.refunded == all(line.refunded_quantity == line.quantity for line in order.lines)
    if order.status is Status.REFUNDED:
        assert order.refunded and order.refunded_amount == order.total_price


@settings(max_examples=300)
@given(payments(), st.lists(commands, max_size=25))
def test_refunds_never_exceed_what_was_bought_or_paid(payment, cmds):
    order, _ = handle(None, payment)
    for cmd in cmds:
        order, _ = handle(order, cmd)
        assert_invariants(order)


@settings(max_examples=300)
@given(payments(), st.lists(commands, max_size=25))
def test_version_grows_by_one_per_applied_change(payment, cmds):
    order, _ = handle(None, payment)
    for cmd in cmds:
        before = order
        order, (event,) = handle(order, cmd)
        if order is before or isinstance(event, RequestRejected):
            assert order.version == before.version
        else:
            assert order.version == before.version + (1 if event.version > before.version else 0)
            assert order.version == event.version


@settings(max_examples=200)
@given(payments(), st.lists(commands, max_size=20), st.data())
def test_duplicate_deliveries_do_not_change_the_final_state(payment, cmds, data):
    once, _ = run(None, [payment, *cmds])
    delivered = [payment]
    for cmd in cmds:
        delivered.extend([cmd] * data.draw(st.integers(1, 3)))
    delivered.insert(data.draw(st.integers(1, len(delivered))), payment)
    twice, _ = run(None, delivered)
    assert twice == once


@settings(max_examples=200)
@given(payments(), st.lists(commands, max_size=20))
def test_replaying_the_whole_command_list_is_a_no_op(payment, cmds):
    order, first = run(None, [payment, *cmds])
    replayed, second = run(order, [payment, *cmds])
    assert replayed is order
    # Each replayed command yields the outcome its first delivery recorded.
    remembered = {}
    for cmd, events in zip([payment, *cmds], first, strict=True):
        remembered.setdefault(getattr(cmd, "request_id", None), events)
    for cmd, events in zip([payment, *cmds], second, strict=True):
        assert events == remembered[getattr(cmd, "request_id", None)]
