"""Invariants of the order state machine, over generated command sequences."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain import Event, Line, Order, RequestRejected, Status, handle
from shared.step import step
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


class Records:
    """The shell's memory of decided requests, as the flow keeps it: the outcome of
    each request that was decided against an order, kept for the life of the order."""

    def __init__(self) -> None:
        self.outcomes: dict[str, Event] = {}

    def handle(self, order: Order | None, cmd) -> tuple[Order | None, list[Event]]:
        request_id = getattr(cmd, "request_id", None)
        recorded = self.outcomes.get(request_id) if request_id else None
        taken = step(order, cmd, recorded)
        if taken.record is not None:
            self.outcomes[request_id] = taken.events[0]
        return taken.order, taken.events


def one_request_per_id(cmds: list) -> list:
    """Each command as the first one generated with its request id: a request id names
    one request, and a command seen again under it is that request delivered again."""
    first: dict[str, object] = {}
    return [first.setdefault(c.request_id, c) if hasattr(c, "request_id") else c for c in cmds]


def run(order: Order | None, cmds, records: Records | None = None) -> tuple[Order | None, list]:
    records = records or Records()
    cmds = one_request_per_id(cmds)
    outcomes = []
    for cmd in cmds:
        order, events = records.handle(order, cmd)
        outcomes.append(events)
    return order, outcomes


def assert_invariants(order: Order) -> None:
    for line in order.lines:
        assert 0 <= line.refunded_quantity <= line.quantity
    assert 0 <= order.refunded_amount <= order.total_price
    assert order.refunded == all(line.refunded_quantity == line.quantity for line in order.lines)
    if order.status is Status.REFUNDED:
        assert order.refunded
        assert order.refunded_amount == order.total_price


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
    records = Records()
    order, first = run(None, [payment, *cmds], records)
    replayed, second = run(order, [payment, *cmds], records)
    assert replayed is order
    # Each replayed command yields the outcome its first delivery recorded.
    remembered = {}
    for cmd, events in zip([payment, *cmds], first, strict=True):
        remembered.setdefault(getattr(cmd, "request_id", None), events)
    for cmd, events in zip([payment, *cmds], second, strict=True):
        assert events == remembered[getattr(cmd, "request_id", None)]


many_request_ids = st.builds(lambda i: f"r{i}", st.integers(0, 400))
long_commands = st.one_of(
    st.builds(refund_some, many_request_ids, st.sampled_from(PRODUCTS), st.integers(1, 2), actors),
    st.builds(lambda rid, by, address: change(rid, by=by, address=address), many_request_ids, actors, st.text("ab")),
    st.builds(refund_all, many_request_ids, actors),
)


@settings(max_examples=40, deadline=None)
@given(payments(), st.lists(long_commands, min_size=150, max_size=300), st.data())
def test_a_replay_from_any_point_of_a_long_life_changes_nothing_and_repeats_each_outcome(payment, cmds, data):
    """However many requests an order has seen, re-reading the input from any offset
    (the very first included) leaves it as it is and yields the events of the first reading."""
    delivered = one_request_per_id([payment, *cmds])
    records = Records()
    order, first = run(None, delivered, records)
    start = data.draw(st.integers(0, len(delivered) - 1))
    replayed, second = run(order, delivered[start:], records)
    assert replayed is order
    firsts = {}
    for cmd, events in zip(delivered, first, strict=True):
        firsts.setdefault(getattr(cmd, "request_id", None), events)
    for cmd, events in zip(delivered[start:], second, strict=True):
        assert events == firsts[getattr(cmd, "request_id", None)]
