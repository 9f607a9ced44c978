"""The order rules of docs/orders.md, on the pure core."""

from __future__ import annotations

import pytest

from shared.domain import (
    Line,
    OrderCreated,
    OrderRefunded,
    OrderUpdated,
    ProductRefunded,
    RefundOrder,
    RejectInvalid,
    RequestRejected,
    Status,
    handle,
)
from shared.domain.handling import final_rejection
from shared.domain.model import Origin
from shared.ids import event_id
from tests.unit.builders import ADMIN, AT, ORDER_ID, OWNER, STRANGER, change, pay, refund_all, refund_some


def created():
    order, _ = handle(None, pay())
    return order


def rejection(order, command) -> str:
    _, events = handle(order, command)
    (event,) = events
    assert isinstance(event, RequestRejected), event
    return event.reason


def test_a_payment_creates_one_pending_order_at_version_1():
    order, events = handle(None, pay())
    assert [type(e) for e in events] == [OrderCreated]
    assert order.id == ORDER_ID
    assert order.version == 1
    assert order.status is Status.PENDING
    assert order.card_number == "************4242"
    assert order.refunded is False
    assert order.refunded_amount == 0


def test_every_field_of_a_payment_lands_in_its_own_field_of_the_event_and_the_order():
    # The core builds these positionally on its hot path: distinct values catch a swap.
    command = pay()._replace(
        user_id="u", checkout_id="c", basket_id="b", address="addr", is_gift=True, status=Status.PROCESSING
    )
    order, (event,) = handle(None, command)
    same = {"payment_id": "pay-1", "user_id": "u", "checkout_id": "c", "basket_id": "b", "lines": command.lines}
    same |= {"address": "addr", "is_gift": True, "status": Status.PROCESSING, "total_price": 2375}
    same |= {"card_number": "************4242"}
    assert event._asdict() == {
        **same,
        "event_id": event_id("pay-1", "created"),
        "order_id": ORDER_ID,
        "version": 1,
        "occurred_at": AT,
        "request_id": None,
    }
    assert order._asdict() == {
        **same,
        "id": ORDER_ID,
        "created_at": AT,
        "updated_at": AT,
        "refunded_amount": 0,
        "version": 1,
        "revision": 1,
        "origin": Origin("addr", True, Status.PROCESSING),
    }


def test_a_partial_refund_event_names_each_of_its_fields():
    _, (event,) = handle(created(), refund_some("r-1", "pear", 1))
    assert event._asdict() == {
        "event_id": event_id("r-1", "outcome"),
        "order_id": ORDER_ID,
        "version": 2,
        "occurred_at": AT,
        "request_id": "r-1",
        "product_id": "pear",
        "quantity": 1,
        "amount": 1000,
    }


def test_the_same_payment_again_changes_nothing_and_repeats_the_same_event():
    order, first = handle(None, pay())
    again, second = handle(order, pay())
    assert again is order
    assert second == first


def test_a_full_refund_returns_the_total_and_restocks_every_unit():
    order, events = handle(created(), refund_all())
    (event,) = events
    assert isinstance(event, OrderRefunded)
    assert event.amount == order.total_price == 3 * 125 + 2 * 1000
    assert event.restocked == (("apple", 3), ("pear", 2))
    assert order.status is Status.REFUNDED
    assert order.refunded
    assert order.version == 2


def test_a_full_refund_of_an_order_with_shipping_returns_the_paid_total():
    order, _ = handle(None, pay(total=3 * 125 + 2 * 1000 + 499))
    order, (event,) = handle(order, refund_all())
    assert event.amount == order.total_price == order.refunded_amount


def test_refunding_twice_is_rejected_as_already_refunded():
    order, _ = handle(created(), refund_all("r1"))
    assert rejection(order, refund_all("r2")) == "already-refunded"
    assert rejection(order, refund_some("r3", "apple", 1)) == "already-refunded"


def test_a_full_refund_after_a_partial_one_is_rejected():
    order, _ = handle(created(), refund_some("r1", "apple", 1))
    assert rejection(order, refund_all("r2")) == "already-refunded"


def test_a_partial_refund_returns_unit_price_times_quantity():
    order, (event,) = handle(created(), refund_some("r1", "apple", 2))
    assert isinstance(event, ProductRefunded)
    assert event.amount == 250
    assert order.status is Status.PARTIALLY_REFUNDED
    assert not order.refunded
    assert order.lines[0].refunded_quantity == 2
    assert order.refunded_amount == 250


def test_a_partial_refund_is_capped_at_what_remains():
    order, _ = handle(created(), refund_some("r1", "apple", 2))
    assert rejection(order, refund_some("r2", "apple", 2)) == "quantity-exceeds-remaining"
    order, (event,) = handle(order, refund_some("r3", "apple", 1))
    assert isinstance(event, ProductRefunded)
    assert order.lines[0].remaining == 0


def test_refunding_every_unit_piece_by_piece_makes_the_order_refunded():
    order, _ = handle(None, pay(total=3 * 125 + 2 * 1000 + 499))
    order, _ = handle(order, refund_some("r1", "apple", 3))
    order, (last,) = handle(order, refund_some("r2", "pear", 2))
    assert order.refunded
    assert order.status is Status.REFUNDED
    assert order.refunded_amount == order.total_price
    assert last.amount == 2000 + 499


def test_an_unknown_product_is_rejected():
    assert rejection(created(), refund_some("r1", "kiwi", 1)) == "product-not-found"


def test_a_request_for_an_unknown_order_is_rejected():
    assert rejection(None, refund_all()) == "order-not-found"


def test_a_product_on_two_lines_is_refunded_line_by_line():
    order, _ = handle(None, pay(lines=(Line("apple", 1, 100), Line("apple", 2, 300))))
    order, (event,) = handle(order, refund_some("r1", "apple", 2))
    assert event.amount == 100 + 300
    assert [line.refunded_quantity for line in order.lines] == [1, 1]


def test_only_the_owner_an_admin_or_a_service_may_refund():
    assert rejection(created(), refund_all(by=STRANGER)) == "forbidden"
    for actor in (OWNER, ADMIN, None):
        _, (event,) = handle(created(), refund_all(by=actor))
        assert isinstance(event, OrderRefunded)


def test_the_owner_may_change_address_and_gift_but_not_status():
    order, (event,) = handle(created(), change("u1", address="2 High St", is_gift=True))
    assert isinstance(event, OrderUpdated)
    assert order.address == "2 High St"
    assert order.is_gift
    assert order.version == 2
    assert rejection(order, change("u2", status=Status.PROCESSING)) == "forbidden"
    assert rejection(order, change("u3", by=STRANGER, address="x")) == "forbidden"


def test_an_admin_moves_status_only_along_the_allowed_path():
    order = created()
    assert rejection(order, change("u0", by=ADMIN, status=Status.SHIPPED)) == "invalid-transition"
    for step, status in enumerate((Status.PROCESSING, Status.SHIPPED, Status.DELIVERED)):
        order, _ = handle(order, change(f"u{step + 1}", by=ADMIN, status=status))
        assert order.status is status
    assert rejection(order, change("u9", by=ADMIN, status=Status.CANCELLED)) == "invalid-transition"


def test_status_cannot_be_set_to_a_refund_status_by_an_update():
    assert rejection(created(), change("u1", by=ADMIN, status=Status.REFUNDED)) == "invalid-transition"


def test_cancelling_gives_back_what_is_not_refunded_and_freezes_the_order():
    order, _ = handle(created(), change("u1", by=None, status=Status.PROCESSING))
    order, (event,) = handle(order, change("u2", by=None, status=Status.CANCELLED))
    assert isinstance(event, OrderUpdated)
    assert event.amount == order.total_price
    assert event.restocked == (("apple", 3), ("pear", 2))
    assert order.status is Status.CANCELLED
    assert order.refunded
    assert order.refunded_amount == order.total_price
    assert rejection(order, refund_all("r1")) == "invalid-transition"
    assert rejection(order, change("u3", address="x")) == "invalid-transition"


def test_a_stale_expected_version_is_a_version_conflict():
    order, _ = handle(created(), change("u1", address="a"))
    assert rejection(order, change("u2", expected=1, address="b")) == "version-conflict"
    order, _ = handle(order, change("u3", expected=2, address="b"))
    assert order.address == "b"


def test_a_request_with_a_recorded_outcome_repeats_it_and_changes_nothing():
    order, first = handle(created(), refund_some("r1", "apple", 1))
    again, second = handle(order, refund_some("r1", "apple", 1), recorded=first[0])
    assert again is order
    assert second == first


def test_a_recorded_rejection_stays_the_same_rejection_after_the_order_moved_on():
    order = created()
    order, first = handle(order, change("u1", by=ADMIN, status=Status.SHIPPED))  # invalid from Pending
    order, _ = handle(order, change("u2", by=ADMIN, status=Status.PROCESSING))
    _, second = handle(order, change("u1", by=ADMIN, status=Status.SHIPPED), recorded=first[0])
    assert second == first
    assert first[0].reason == "invalid-transition"


def test_every_decided_request_moves_the_revision_on_rejections_included():
    order = created()
    order, _ = handle(order, change("u1", by=ADMIN, status=Status.SHIPPED))  # rejected
    order, _ = handle(order, refund_some("r1", "apple", 1))
    assert order.revision == 3
    assert order.version == 2


def test_an_invalid_request_is_rejected_as_invalid_request():
    _, (event,) = handle(created(), RejectInvalid("r1", ORDER_ID, "quantity: must be ...", AT))
    assert event.reason == "invalid-request"
    assert event.detail.startswith("quantity")


@pytest.mark.parametrize("command", [refund_all(), refund_some("r", "apple", 1), change("u", address="x")])
def test_outcome_event_ids_depend_only_on_the_request(command):
    _, (a,) = handle(created(), command)
    _, (b,) = handle(created(), command)
    assert a.event_id == b.event_id
    assert a.request_id == command.request_id


def test_a_request_to_a_refunded_order_no_one_waits_on_leaves_it_as_it_was():
    refunded, _ = handle(created(), refund_all("r1"))
    after, (event,) = handle(refunded, refund_all("r2"))
    assert event.reason == "already-refunded"
    assert after is refunded


def test_a_request_to_a_refunded_order_whose_requester_saw_it_before_it_froze_is_recorded():
    refunded, _ = handle(created(), refund_all("r1"))
    seen_before = RefundOrder("r0", ORDER_ID, OWNER, AT, seen_version=refunded.version - 1)
    after, _ = handle(refunded, seen_before)
    assert after.revision == refunded.revision + 1


def test_a_request_whose_requester_saw_the_order_frozen_is_not_recorded():
    refunded, _ = handle(created(), refund_all("r1"))
    seen_frozen = RefundOrder("r2", ORDER_ID, OWNER, AT, seen_version=refunded.version)
    assert handle(refunded, seen_frozen)[0] is refunded


def test_the_final_rejection_of_a_frozen_order_is_the_one_the_flow_decides():
    refunded, _ = handle(created(), refund_all("r1"))
    assert final_rejection(refunded, refund_all("r2")) == handle(refunded, refund_all("r2"))[1][0]


def test_an_order_that_can_still_change_has_no_final_rejection():
    assert final_rejection(created(), refund_all("r1")) is None
