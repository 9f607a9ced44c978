"""The original service's topics at least once: a dataflow killed between its Mongo
writes and Kafka, or whose broker is gone for longer than the producer waits,
sends them when it runs again, each with an id to drop repeats by."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from devkit.sandbox import Stack
from shared.ids import order_id_for_payment
from tests.flowkit import payment

CREATED_TOPICS = ("compat_order_created", "compat_basket_clear", "compat_checkout_inactive")


def fault_stack(servers, tmp_path: Path, fault: str, **env: str) -> tuple[Stack, Path]:
    marker = tmp_path / "fault-marker"
    stack = Stack(
        servers.kafka_uri, servers.mongo_uri, tmp_path, env={"FAULT_POINTS": f"after-records={fault}:{marker}", **env}
    )
    return stack, marker


def assert_original_topics_sent_once_each_id(stack: Stack, payment_id: str) -> None:
    for role in CREATED_TOPICS:
        topic = getattr(stack.topics, role).name
        sent = stack.consume(topic, lambda ms: len(ms) >= 1, timeout=60)
        assert len({m["eventId"] for m in sent}) == 1, (topic, sent)
    (doc,) = stack.orders.find({"paymentId": payment_id})
    assert doc["_id"] == order_id_for_payment(payment_id)


def test_a_flow_killed_between_storing_an_order_and_publishing_sends_the_original_topics_after(servers, tmp_path):
    stack, _ = fault_stack(servers, tmp_path, "kill")
    try:
        recovery = tmp_path / "recovery"
        stack.produce(stack.topics.payment_accepted.name, [("killed", payment("killed"))])
        first = stack.start_flow(recovery=recovery)
        stack.stopped.add(first.pid)  # it is meant to die
        first.wait(120)
        assert first.returncode == -signal.SIGKILL
        assert stack.orders.count_documents({"paymentId": "killed"}) == 1  # stored before the kill
        stack.start_flow(recovery=recovery)
        assert_original_topics_sent_once_each_id(stack, "killed")
    finally:
        stack.close()


@pytest.mark.restarts_servers  # stops the session's broker for a while
def test_a_broker_gone_longer_than_the_producer_waits_delays_the_original_topics_but_loses_none(servers, tmp_path):
    stack, marker = fault_stack(servers, tmp_path, "pause", KAFKA_MESSAGE_TIMEOUT_MS="2000")
    try:
        recovery = tmp_path / "recovery"
        stack.produce(stack.topics.payment_accepted.name, [("outage", payment("outage"))])
        first = stack.start_flow(recovery=recovery)
        stack.stopped.add(first.pid)  # it is meant to end when its messages cannot be delivered
        stack.wait_for(marker.exists, 120, "the flow between its Mongo writes and Kafka")
        os.killpg(servers.kafka.proc.pid, signal.SIGSTOP)
        try:
            marker.unlink()  # go on publishing, into a broker that does not answer
            first.wait(60)
            time.sleep(1)
        finally:
            os.killpg(servers.kafka.proc.pid, signal.SIGCONT)
        assert first.returncode not in (0, None)
        stack.reconnect()
        stack.start_flow(recovery=recovery)
        assert_original_topics_sent_once_each_id(stack, "outage")
    finally:
        stack.close()
