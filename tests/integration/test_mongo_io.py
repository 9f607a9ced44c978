"""The Mongo edge of the flow against a real Mongo-protocol server."""

from __future__ import annotations

import uuid

import pytest
from pymongo import MongoClient

from dataflows.mongo_io import (
    MongoOrderLoader,
    ensure_indexes,
    orders_collection,
    records_collection,
    write_orders,
    write_records,
)
from devkit.sandbox import with_database
from http_api.mongo_store import MongoOrderStore
from shared.domain import handle
from shared.storage import PENDING, order_to_doc, record_doc
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
        assert stored["revision"] == 3
        assert stored["products"][0]["refundedQuantity"] == 2
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
    assert len(found) == 250
    assert found[docs[7]["_id"]].payment_id == "pay-7"


def refunded_once():
    """An order after a payment and two refunds, with the records of both refunds."""
    order, _ = handle(None, pay())
    order, (first,) = handle(order, refund_some("r0", "pear", 1))
    first_record = record_doc(refund_some("r0", "pear", 1), first, order)
    order, (refunded,) = handle(order, refund_some("r1", "apple", 1))
    return order, [first_record, record_doc(refund_some("r1", "apple", 1), refunded, order)], refunded


def test_a_record_is_written_once_and_found_by_id(mongo_uri):
    _, records, refunded = refunded_once()
    collection = records_collection(mongo_uri)
    ensure_indexes(collection.database["orders"])
    write_records(collection, records)
    write_records(collection, records[1:])  # a replay: left as it is
    found = MongoOrderLoader(mongo_uri).recorded([records[1]["_id"], "nothing"])
    assert list(found) == [records[1]["_id"]]
    assert found[records[1]["_id"]].outcome == refunded


def test_another_requests_record_at_the_same_revision_is_refused(mongo_uri):
    order, records, _ = refunded_once()
    collection = records_collection(mongo_uri)
    ensure_indexes(collection.database["orders"])
    write_records(collection, records)
    impostor = {**records[1], "_id": f"{order.id}/request/other", "requestId": "other"}
    with pytest.raises(RuntimeError, match="clash at one revision"):
        write_records(collection, [impostor])


def test_loading_an_order_stores_the_records_its_last_write_was_cut_before(mongo_uri):
    order, records, _ = refunded_once()
    orders = orders_collection(mongo_uri)
    ensure_indexes(orders)
    write_orders(orders, [order_to_doc(order)], records)  # and then the crash: no write_records
    assert records_collection(mongo_uri).count_documents({}) == 0
    loaded = MongoOrderLoader(mongo_uri).load([order.id])
    assert loaded[order.id] == order
    assert sorted(d["_id"] for d in records_collection(mongo_uri).find({})) == sorted(r["_id"] for r in records)


async def test_the_api_finds_a_record_in_its_orders_latest_write_before_it_is_stored(mongo_uri):
    order, records, _ = refunded_once()
    orders = orders_collection(mongo_uri)
    write_orders(orders, [order_to_doc(order)], records)  # the records are in `pending` only
    store = MongoOrderStore(mongo_uri)
    try:
        found_orders, found_records = await store.orders_and_records({records[1]["_id"]: order.id})
    finally:
        await store.close()
    assert found_records[records[1]["_id"]].request_id == records[1]["requestId"]
    assert PENDING not in found_orders[order.id]


async def test_the_api_reads_records_older_than_the_latest_write_by_id(mongo_uri):
    order, records, _ = refunded_once()
    orders = orders_collection(mongo_uri)
    write_records(records_collection(mongo_uri), records)
    later, _ = handle(order, refund_some("later", "apple", 1))
    write_orders(orders, [order_to_doc(later)], [])  # a newer write, whose `pending` lacks them
    store = MongoOrderStore(mongo_uri)
    try:
        found_orders, found_records = await store.orders_and_records({records[1]["_id"]: order.id})
    finally:
        await store.close()
    assert list(found_records) == [records[1]["_id"]]
    assert found_orders[order.id].revision == later.revision
