"""The Mongo edge of the flow against a real Mongo-protocol server."""

from __future__ import annotations

import uuid

import pytest
from pymongo import MongoClient

from dataflows.mongo_io import MongoOrderLoader, ensure_indexes, write_orders
from ops.sandbox import with_database
from shared.domain import handle
from shared.storage import order_to_doc
from tests.unit.builders import pay, refund_some


@pytest.fixture
def mongo_uri(servers) -> str:
    return with_database(servers.mongo_uri, f"io-{uuid.uuid4().hex[:8]}")


def revisions(n: int, payment_id: str = "pay-1") -> list[dict]:
    order, _ = handle(None, pay(payment_id))
    docs = [order_to_doc(order)]
    for i in range(n - 1):
        order, _ = handle(order, refund_some(f"r{i}", "apple", 1))
        docs.append(order_to_doc(order))
    return docs


def test_a_replayed_older_revision_never_overwrites_a_newer_one(mongo_uri):
    with MongoClient(mongo_uri) as client:
        orders = client.get_default_database()["orders"]
        ensure_indexes(orders)
        first, second, third = revisions(3)
        write_orders(orders, [first, second, third])
        write_orders(orders, [first])
        write_orders(orders, [second, first])
        stored = orders.find_one({"_id": first["_id"]})
        assert stored["revision"] == 3 and stored["products"][0]["refundedQuantity"] == 2
        assert orders.count_documents({}) == 1


def test_a_batch_keeps_only_the_newest_revision_of_each_order(mongo_uri):
    with MongoClient(mongo_uri) as client:
        orders = client.get_default_database()["orders"]
        ensure_indexes(orders)
        a, b = revisions(3, "pay-a"), revisions(2, "pay-b")
        write_orders(orders, [a[2], b[0], a[0], b[1], a[1]])
        assert {d["paymentId"]: d["revision"] for d in orders.find()} == {"pay-a": 3, "pay-b": 2}


def test_the_loader_finds_stored_orders_in_chunks(mongo_uri):
    with MongoClient(mongo_uri) as client:
        orders = client.get_default_database()["orders"]
        docs = [revisions(1, f"pay-{i}")[0] for i in range(250)]
        orders.insert_many(docs)
    found = MongoOrderLoader(mongo_uri).load([d["_id"] for d in docs] + ["missing"])
    assert len(found) == 250 and found[docs[7]["_id"]].payment_id == "pay-7"


def test_a_record_is_written_once_and_found_by_id_and_by_order(mongo_uri):
    from dataflows.mongo_io import records_collection, write_records
    from shared.storage import record_doc

    order, (created,) = handle(None, pay())
    first = record_doc(pay(), created, order)
    order, (refunded,) = handle(order, refund_some("r1", "apple", 1))
    second = record_doc(refund_some("r1", "apple", 1), refunded, order)
    records = records_collection(mongo_uri)
    ensure_indexes(records.database["orders"])
    write_records(records, [second, first])
    write_records(records, [second])  # a replay: left as it is
    loader = MongoOrderLoader(mongo_uri)
    found = loader.recorded([second["_id"], "nothing"])
    assert list(found) == [second["_id"]]
    assert found[second["_id"]].outcome == refunded
    assert [r.seq for r in loader.records_after(order.id, 0)] == [1, 2]
    assert [r.outcome for r in loader.records_after(order.id, 1)] == [refunded]
