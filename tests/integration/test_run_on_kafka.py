"""``make run`` (its default broker, ``--broker kafka``): the whole system on an embedded
Apache Kafka whose data is kept under ORDER_DATA_DIR/kafka, so a second run finds the
topics, the offsets and the recovery store of the first, and goes on from where it
stopped. Started and stopped as ``bench.run_brokers`` does."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer
from pymongo import MongoClient

from bench.run_brokers import start, stop
from devkit.run import endpoints
from devkit.samples import payment
from devkit.servers import free_port
from shared.ids import order_id_for_payment
from shared.storage.orders import COLLECTION

pytestmark = pytest.mark.apache_only  # starts its own Apache Kafka: once, in the Apache session

STOP_S = 15


def pay(kafka_uri: str, payment_id: str) -> str:
    producer = Producer({"bootstrap.servers": kafka_uri})
    body = payment(payment_id, user="user-1")
    producer.produce("payment-accepted", key=payment_id, value=json.dumps(body))
    assert producer.flush(30) == 0, "the payment was not delivered"
    return order_id_for_payment(payment_id)


def stored(mongo_uri: str, order_id: str) -> dict | None:
    with MongoClient(mongo_uri, serverSelectionTimeoutMS=10_000) as client:
        return client.get_default_database()[COLLECTION].find_one({"_id": order_id})


def wait_stored(mongo_uri: str, order_id: str) -> dict:
    deadline = time.monotonic() + 60
    while (order := stored(mongo_uri, order_id)) is None:
        assert time.monotonic() < deadline, f"order {order_id} was not stored within 60 s"
        time.sleep(0.3)
    return order


def test_a_second_run_on_apache_kafka_keeps_the_first_runs_topics_offsets_and_orders(tmp_path: Path):
    data, log = tmp_path / "data", tmp_path / "run.log"
    first, _ = start("kafka", data, free_port(), log)
    try:
        kafka_uri, mongo_uri = endpoints(data)["KAFKA_URI"], endpoints(data)["MONGO_URI"]
        before = wait_stored(mongo_uri, pay(kafka_uri, "pay-first-run"))
    finally:
        took = stop(first)
    assert took < STOP_S, f"the first run took {took:.1f} s to stop"
    assert (data / "kafka" / "logs" / "meta.properties").exists(), "the broker kept nothing under its data folder"
    said_before = log.read_text()

    second, _ = start("kafka", data, free_port(), log)
    try:
        said = log.read_text()[len(said_before) :]
        assert "(0 created)" in said, said
        assert "kept: it matches the input topics" in said, said
        kafka_uri, mongo_uri = endpoints(data)["KAFKA_URI"], endpoints(data)["MONGO_URI"]
        wait_stored(mongo_uri, pay(kafka_uri, "pay-second-run"))
        time.sleep(2)  # the flow has read on from its offsets: the first payment is not applied again
        again = stored(mongo_uri, before["_id"])
        assert again is not None and again["revision"] == before["revision"], (before, again)
    finally:
        stop(second)
