"""Rebuild every order from the log into a fresh database, then compare it with the live orders.

    python -m ops.rebuild --into orders-rebuilt      # KAFKA_URI, MONGO_URI and TOPIC_* from env / .env

It reads ``order-events`` from its first retained message and applies each
order's events, in the order the flow decided them, with the same ``apply`` the
flow uses; then writes the orders into the database named by ``--into`` (on the
MONGO_URI server; it must hold no orders yet) and compares them, document by
document, with the live ``orders`` collection. Exit 0 when every order is
identical, 1 with the ids that differ.

Why the decisions and not the input topics: refunds and updates come on two
topics, and a second read interleaves them differently from the first, so
deciding again could decide differently (a refund before or after a
cancellation). ``order-events`` holds each order's decisions in one partition,
in the order they were made. It must be retained for as long as its orders
live (``retention.ms=-1``; ``make run`` creates it so).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pymongo import MongoClient

from ops.log_reader import read_topic
from shared.config import database_name, settings_or_exit
from shared.domain import OrderCreated, RequestRejected, apply
from shared.domain.model import Order
from shared.schemas.event_codec import decided_events
from shared.storage import COLLECTION, PENDING, order_to_doc

SHOWN = 50  # ids listed per kind of difference


def rebuild(payloads: Iterable[dict[str, Any]]) -> dict[str, Order]:
    """Every order the events make, each event applied once."""
    orders: dict[str, Order] = {}
    for event in decided_events(payloads):
        current = orders.get(event.order_id)
        if current is None and not isinstance(event, OrderCreated):
            if not isinstance(event, RequestRejected):
                raise ValueError(f"{type(event).__name__} {event.event_id} before its order was created")
            continue  # an invalid request for an order that did not exist
        orders[event.order_id] = apply(current, event)
    return orders


@dataclass
class Comparison:
    identical: int = 0
    differ: list[str] = field(default_factory=list)
    only_in_log: list[str] = field(default_factory=list)
    only_live: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.differ or self.only_in_log or self.only_live)


def compare(rebuilt: dict[str, dict[str, Any]], live: dict[str, dict[str, Any]]) -> Comparison:
    result = Comparison()
    for order_id in sorted(rebuilt.keys() | live.keys()):
        if order_id not in live:
            result.only_in_log.append(order_id)
        elif order_id not in rebuilt:
            result.only_live.append(order_id)
        elif rebuilt[order_id] == live[order_id]:
            result.identical += 1
        else:
            result.differ.append(order_id)
    return result


def report(result: Comparison, events: int, orders: int, into: str, live_db: str) -> str:
    lines = [
        f"read {events:,} events; rebuilt {orders:,} orders into database {into}",
        f"compared with the live orders in database {live_db}:",
        f"  identical     {result.identical:>10,}",
        f"  differ        {len(result.differ):>10,}",
        f"  only in log   {len(result.only_in_log):>10,}",
        f"  only live     {len(result.only_live):>10,}",
    ]
    for label, ids in (("differ", result.differ), ("only in log", result.only_in_log), ("only live", result.only_live)):
        if ids:
            more = f" (and {len(ids) - SHOWN:,} more)" if len(ids) > SHOWN else ""
            lines.append(f"{label}: {' '.join(ids[:SHOWN])}{more}")
    lines.append("identical: the live orders are what the log says" if result.ok else "DRIFT: see the ids above")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.rebuild", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--into", required=True, help="the database to rebuild into (must hold no orders)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    settings = settings_or_exit()
    if not settings.brokers or not settings.mongo_uri:
        parser.error("KAFKA_URI and MONGO_URI must be set")
    live_db = database_name(settings.mongo_uri)
    if args.into == live_db:
        parser.error("--into must name another database than the live one")
    client: MongoClient[dict[str, Any]] = MongoClient(settings.mongo_uri, serverSelectionTimeoutMS=10_000)
    try:
        target = client[args.into][COLLECTION]
        if target.find_one({}, {"_id": 1}) is not None:
            parser.error(f"database {args.into} already holds orders: name a fresh one")
        counted = _Counted(read_topic(settings.kafka, settings.topics.order_events.name, not args.quiet))
        docs = {order_id: order_to_doc(order) for order_id, order in rebuild(counted).items()}
        values = list(docs.values())
        for start in range(0, len(values), 1000):
            target.insert_many(values[start : start + 1000], ordered=False)
        # ``pending`` (the records of an order's latest write) depends on how the flow batched its writes.
        live = {doc["_id"]: doc for doc in client[live_db][COLLECTION].find({}, {PENDING: 0})}
        result = compare(docs, live)
        print(report(result, counted.count, len(docs), args.into, live_db))
        return 0 if result.ok else 1
    finally:
        client.close()


class _Counted:
    def __init__(self, items: Iterable[dict[str, Any]]):
        self._items = items
        self.count = 0

    def __iter__(self):
        for item in self._items:
            self.count += 1
            yield item


if __name__ == "__main__":
    sys.exit(main())
