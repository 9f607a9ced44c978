"""Streams of payments and requests whose correct result the pure core computes.

The requests of one order commute (partial refunds of different products within
what was bought, one address change, one gift change), so the final state does not
depend on how the refund and update topics interleave, only on each request being
applied exactly once.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from shared.domain import handle
from shared.domain.effects import stock_changes
from shared.domain.model import Order
from shared.ids import event_id, order_id_for_payment
from shared.schemas.event_codec import event_payload
from shared.schemas.messages import parse_message
from shared.storage import cents
from tests.flowkit import payment, refund, update

TS = 1_760_000_000_000


@dataclass
class Scenario:
    payments: list[dict[str, Any]]
    refunds: list[dict[str, Any]]
    updates: list[dict[str, Any]]
    orders: dict[str, Order] = field(default_factory=dict)
    events: dict[str, tuple] = field(default_factory=dict)
    stock: dict[str, int] = field(default_factory=dict)
    stock_ids: set[str] = field(default_factory=set)

    @property
    def order_ids(self) -> list[str]:
        return [order_id_for_payment(p["paymentId"]) for p in self.payments]

    def expect(self) -> Scenario:
        """Apply every input once, in order, with the pure core."""
        for kind, bodies in (("payment", self.payments), ("refund", self.refunds), ("update", self.updates)):
            for body in bodies:
                command = parse_message(kind, json.dumps(body).encode(), TS).command
                before = self.orders.get(command.order_id)
                after, events = handle(before, command)
                if after is not None:
                    self.orders[after.id] = after
                for event in events:
                    self.events[event.event_id] = event_view(event_payload(event, after))
                    for index, (product, delta, _) in enumerate(stock_changes(event)):
                        self.stock[product] = self.stock.get(product, 0) + delta
                        self.stock_ids.add(event_id(event.event_id, "stock", index))
        return self


def build(n_orders: int, seed: int, prefix: str = "pay") -> Scenario:
    rng = random.Random(seed)
    payments, refunds, updates = [], [], []
    for i in range(n_orders):
        pid = f"{prefix}-{seed}-{i}"
        payments.append(payment(pid, user=f"user-{i % 5}"))
        order_id = order_id_for_payment(pid)
        if rng.random() < 0.8:
            refunds.append(refund(f"ra-{pid}", order_id, "apple", rng.randint(1, 2)))  # never all 3: no terminal state
        if rng.random() < 0.5:
            refunds.append(refund(f"rp-{pid}", order_id, "pear", rng.choice([1, 2, 3])))  # 3 is over the cap
        if rng.random() < 0.5:
            updates.append(update(f"ua-{pid}", order_id, {"address": f"{i} New Road"}))
        if rng.random() < 0.3:
            updates.append(update(f"ug-{pid}", order_id, {"isGift": True}, requestedBy={"userId": "intruder"}))
    return Scenario(payments, refunds, updates)


def order_view(doc: dict[str, Any]) -> tuple:
    return (
        doc["status"],
        doc["address"],
        doc["isGift"],
        cents(doc["refundedAmount"]),
        tuple(p["refundedQuantity"] for p in doc["products"]),
        doc["refunded"],
        doc["version"],
    )


def core_order_view(order: Order) -> tuple:
    return (
        str(order.status),
        order.address,
        order.is_gift,
        order.refunded_amount,
        tuple(line.refunded_quantity for line in order.lines),
        order.refunded,
        order.version,
    )


def event_view(payload: dict[str, Any]) -> tuple:
    """What of an event does not depend on how topics interleave (not its version)."""
    keys = ("type", "orderId", "requestId", "amount", "productId", "quantity", "reason", "changes")
    return tuple(json.dumps(payload.get(k), sort_keys=True) for k in keys)
