"""The shop's refund window (shared.domain.policy), as deciding applies it: a refund asked
for later than the window after the order is rejected; without a window, never."""

from __future__ import annotations

from datetime import timedelta

from shared.domain import handle
from shared.domain.events import Reason
from shared.domain.policy import Policy
from tests.unit.builders import AT, pay, refund_all, refund_some

THIRTY_DAYS = Policy(refund_window=timedelta(days=30))


def decided(command, policy: Policy):
    order, _ = handle(None, pay())
    _, (event,) = handle(order, command, policy=policy)
    return getattr(event, "reason", type(event).__name__)


def test_a_refund_after_the_window_is_rejected_as_closed():
    late = refund_all()._replace(at=AT + timedelta(days=30, milliseconds=1))
    assert decided(late, THIRTY_DAYS) == Reason.REFUND_WINDOW_CLOSED


def test_a_product_refund_after_the_window_is_rejected_as_closed():
    late = refund_some("r1", "apple", 1)._replace(at=AT + timedelta(days=31))
    assert decided(late, THIRTY_DAYS) == Reason.REFUND_WINDOW_CLOSED


def test_the_rejection_says_how_long_the_window_is():
    order, _ = handle(None, pay())
    _, (event,) = handle(order, refund_all()._replace(at=AT + timedelta(days=31)), policy=THIRTY_DAYS)
    assert event.detail == "refunds close 30 days after the order"


def test_a_refund_on_the_windows_last_moment_is_applied():
    last = refund_all()._replace(at=AT + timedelta(days=30))
    assert decided(last, THIRTY_DAYS) == "OrderRefunded"


def test_without_a_window_a_refund_years_later_is_applied():
    years = refund_some("r1", "apple", 1)._replace(at=AT + timedelta(days=3650))
    assert decided(years, Policy()) == "ProductRefunded"
