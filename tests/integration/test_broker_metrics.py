"""The benchmarks read Apache Kafka's own request metrics: a broker started with its
metrics agent counts the produce requests and messages a producer sends it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from confluent_kafka import Producer

from bench.broker_metrics import per_thousand, snapshot
from dataflows.setup import ensure_topics
from devkit.servers import ApacheKafka
from shared.kafka_config import KafkaConnection

pytestmark = pytest.mark.apache_only  # starts an Apache Kafka of its own


def test_the_broker_counts_each_message_in_and_each_produce_request(tmp_path: Path):
    with ApacheKafka(tmp_path / "kafka", metrics=True) as broker:
        assert isinstance(broker, ApacheKafka)
        ensure_topics(KafkaConnection((broker.uri,)), ["counted"], 1)
        producer = Producer({"bootstrap.servers": broker.uri, "linger.ms": 0})
        before = snapshot(broker.metrics_url)
        for i in range(10):
            producer.produce("counted", value=b"x" * 100, key=str(i))
            producer.flush(10)  # one request each
        work = per_thousand(before, snapshot(broker.metrics_url), refunds=1000)
        deadline = time.monotonic() + 10
        while work["produce requests"] < 10 and time.monotonic() < deadline:
            time.sleep(0.1)  # the broker counts a request once its answer is sent: the last may lag
            work = per_thousand(before, snapshot(broker.metrics_url), refunds=1000)
    assert work["messages in"] == 10, work
    assert work["produce requests"] == 10, work
    assert work["bytes in"] >= 1000, work
