"""REFUND_WINDOW_DAYS reaches the core through the flow: one setting, the policy the keyed
step decides with."""

from __future__ import annotations

from shared.config import load_settings
from shared.domain.events import Reason
from shared.ids import order_id_for_payment
from tests.flowkit import TOPICS, message, payment, refund, run_flow

PAY = TOPICS.payment_accepted.name
REFUND = TOPICS.refund_request.name
ORDER = order_id_for_payment("p1")


def refunds_after(days_later: str, window_days: str) -> dict:
    policy = load_settings({"REFUND_WINDOW_DAYS": window_days}, dotenv=None).policy
    made = payment("p1", occurredAt="2026-01-01T00:00:00Z")
    late = refund("r1", ORDER, requestedAt=f"2026-01-{days_later}T00:00:00Z")
    return run_flow([message(PAY, made, 0), message(REFUND, late, 1)], policy=policy).outcome("r1")


def test_a_refund_after_the_configured_window_is_rejected_by_the_flow():
    assert refunds_after("31", "7")["reason"] == Reason.REFUND_WINDOW_CLOSED


def test_a_refund_within_the_configured_window_is_applied_by_the_flow():
    assert refunds_after("05", "7")["type"] == "OrderRefunded"
