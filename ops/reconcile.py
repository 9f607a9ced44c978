"""Check money and stock in Mongo against the log.

    python -m ops.reconcile            # a table; KAFKA_URI, MONGO_URI and TOPIC_* from env / .env
    python -m ops.reconcile --json     # the same as JSON

Reads ``order-events`` and ``quantity-update`` from their first retained message
(each event once, by ``eventId``) and the live orders, and checks:

- per order: the stored ``refundedAmount`` equals the money its events gave back,
  and never exceeds ``totalPrice``; an order in one place and not the other drifts;
- per product: the net ``quantity-update`` equals minus (bought - refunded) over
  the stored orders;
- totals for the whole shop: charged, refunded, units out.

Exit 0 when everything agrees, 1 naming the orders and products that drift. Both
topics must be retained for as long as the orders live (``retention.ms=-1``;
``make run`` creates them so).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pymongo import MongoClient

from ops.log_reader import read_topic
from shared.config import database_name, settings_or_exit
from shared.domain import OrderCreated
from shared.domain.effects import charged, refunded
from shared.money import json_number
from shared.schemas.event_codec import decided_events
from shared.storage import COLLECTION, cents

SHOWN = 50


@dataclass
class Ledger:
    """What one side says: money per order, units per product."""

    charged: dict[str, int] = field(default_factory=dict)  # order -> cents
    refunded: Counter[str] = field(default_factory=Counter)  # order -> cents
    stock: Counter[str] = field(default_factory=Counter)  # product -> net delta


def from_log(events: Iterable[dict[str, Any]], stock_messages: Iterable[dict[str, Any]]) -> Ledger:
    ledger = Ledger()
    for event in decided_events(events):
        if isinstance(event, OrderCreated):
            ledger.charged[event.order_id] = charged(event)
        ledger.refunded[event.order_id] += refunded(event)
    seen: set[str] = set()
    for message in stock_messages:
        if message["eventId"] not in seen:
            seen.add(message["eventId"])
            ledger.stock[message["productId"]] += message["delta"]
    return ledger


def from_store(docs: Iterable[dict[str, Any]]) -> Ledger:
    ledger = Ledger()
    for doc in docs:
        ledger.charged[doc["_id"]] = cents(doc["totalPrice"])
        ledger.refunded[doc["_id"]] = cents(doc["refundedAmount"])
        for line in doc["products"]:
            ledger.stock[line["productId"]] -= line["quantity"] - line.get("refundedQuantity", 0)
    return ledger


@dataclass
class Drift:
    orders: dict[str, str]  # order -> what is wrong
    products: dict[str, str]

    @property
    def ok(self) -> bool:
        return not (self.orders or self.products)


def reconcile(log: Ledger, store: Ledger) -> Drift:
    orders: dict[str, str] = {}
    for order_id in sorted(log.charged.keys() | store.charged.keys()):
        if order_id not in store.charged:
            orders[order_id] = "in the log, not stored"
        elif order_id not in log.charged:
            orders[order_id] = "stored, not in the log"
        elif store.refunded[order_id] != log.refunded[order_id]:
            stored, logged = json_number(store.refunded[order_id]), json_number(log.refunded[order_id])
            orders[order_id] = f"refundedAmount {stored}, the log gave back {logged}"
        elif store.refunded[order_id] > store.charged[order_id]:
            orders[order_id] = "refunded more than its totalPrice"
    products = {
        product: f"net quantity-update {log.stock[product]}, stored orders {store.stock[product]}"
        for product in sorted(log.stock.keys() | store.stock.keys())
        if log.stock[product] != store.stock[product]
    }
    return Drift(orders, products)


def summary(log: Ledger, store: Ledger, drift: Drift) -> dict[str, Any]:
    def totals(ledger: Ledger) -> dict[str, Any]:
        return {
            "orders": len(ledger.charged),
            "charged": json_number(sum(ledger.charged.values())),
            "refunded": json_number(sum(ledger.refunded.values())),
            "unitsOut": -sum(ledger.stock.values()),
        }

    return {
        "ok": drift.ok,
        "log": totals(log),
        "stored": totals(store),
        "products": len(log.stock.keys() | store.stock.keys()),
        "driftingOrders": drift.orders,
        "driftingProducts": drift.products,
    }


def table(result: dict[str, Any]) -> str:
    log, stored = result["log"], result["stored"]
    lines = [f"{'':<12}{'log':>16}{'stored':>16}"]
    for key in ("orders", "charged", "refunded", "unitsOut"):
        lines.append(f"{key:<12}{log[key]:>16,}{stored[key]:>16,}")
    lines.append(f"orders drifting: {len(result['driftingOrders'])}, of {stored['orders']:,} checked")
    lines.append(f"products drifting: {len(result['driftingProducts'])}, of {result['products']:,} checked")
    for label, drifting in (("order", result["driftingOrders"]), ("product", result["driftingProducts"])):
        for i, (name, why) in enumerate(drifting.items()):
            if i == SHOWN:
                lines.append(f"  ... and {len(drifting) - SHOWN:,} more")
                break
            lines.append(f"  {label} {name}: {why}")
    lines.append("money and stock agree with the log" if result["ok"] else "DRIFT: see above")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.reconcile", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    settings = settings_or_exit()
    if not settings.brokers or not settings.mongo_uri:
        parser.error("KAFKA_URI and MONGO_URI must be set")
    topics = settings.topics
    show = not (args.quiet or args.json)
    log = from_log(
        read_topic(settings.kafka, topics.order_events.name, show),
        read_topic(settings.kafka, topics.quantity_update.name, show),
    )
    client: MongoClient[dict[str, Any]] = MongoClient(settings.mongo_uri, serverSelectionTimeoutMS=10_000)
    try:
        projection = {"totalPrice": 1, "refundedAmount": 1, "products": 1}
        store = from_store(client[database_name(settings.mongo_uri)][COLLECTION].find({}, projection))
    finally:
        client.close()
    result = summary(log, store, reconcile(log, store))
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
