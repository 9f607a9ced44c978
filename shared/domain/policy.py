"""The rules a shop chooses, given to deciding as a value: the core reads no settings."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from shared.domain.model import Order


class Policy(NamedTuple):
    refund_window: timedelta | None = None  # refunds asked for later than this after the order are refused


NO_POLICY = Policy()


def refund_window_closed(policy: Policy, order: Order, at: datetime) -> bool:
    """A refund asked for at ``at`` comes after the order's refund window (none by default)."""
    return policy.refund_window is not None and at - order.created_at > policy.refund_window
