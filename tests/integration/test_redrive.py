"""ops.redrive on a live stack: payments dead-lettered while the payment service
answered 503 become orders, once, after it recovers and the redrive runs; a second
run sends nothing; a run cut short is completed by the next without repeats; a
truncated dead letter is refused; the dry run changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from confluent_kafka import Consumer, TopicPartition

from devkit.sandbox import Stack
from devkit.servers import ROOT
from ops.redrive import HEADER
from shared.ids import order_id_for_payment
from tests.flowkit import payment
from tests.integration.http_stub import QuietHandler, serving

LOOKUPS = 6


class PaymentService:
    """Answers a payment lookup with 503 while ``down``, then with the payment."""

    down = True


@contextmanager
def payment_service(state: type[PaymentService]) -> Iterator[str]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            payment_id = self.path.rsplit("/", 1)[-1]
            if state.down:
                status, body = 503, {"message": "down"}
            else:
                found = {k: v for k, v in payment(payment_id).items() if k != "paymentId"}
                status, body = 200, {**found, "occurredAt": "2026-01-01T00:00:00Z"}
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(body).encode())

    with serving(Handler) as url:
        yield url


@pytest.fixture
def dead(servers, tmp_path) -> Iterator[Stack]:
    """A stack whose dead-letter topic holds LOOKUPS payment-lookup letters and one truncated one."""

    class State(PaymentService):
        pass

    with payment_service(State) as url:
        env = {"PAYMENT_SERVICE_URL": url, "PAYMENT_FETCH_TIMEOUT": "2.0", "TOPIC_PARTITIONS": "2"}
        stack = Stack(servers.kafka_uri, servers.mongo_uri, tmp_path, env=env)
        try:
            stack.start_flow()
            refs = [(f"later-{i}", {"paymentId": f"later-{i}"}) for i in range(LOOKUPS)]
            stack.produce(stack.topics.payment_accepted.name, refs)
            stack.producer.produce(stack.topics.payment_accepted.name, b"x" * 600_000, b"too-big")
            stack.producer.flush(30)
            stack.consume(stack.topics.order_dlq.name, lambda ms: len(ms) == LOOKUPS + 1)
            State.down = False
            yield stack
        finally:
            stack.close()


def redrive(stack: Stack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ops.redrive", "--quiet", *args],
        env=stack.env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def ends(stack: Stack, topic: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": stack.settings.kafka_uri, "group.id": "redrive-test-ends"})
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
    finally:
        consumer.close()


def lookups_stored(stack: Stack) -> int:
    ids = [order_id_for_payment(f"later-{i}") for i in range(LOOKUPS)]
    return stack.orders.count_documents({"_id": {"$in": ids}})


def test_the_dry_run_lists_them_and_sends_nothing(dead: Stack):
    before = ends(dead, dead.topics.payment_accepted.name)
    done = redrive(dead, "--reason", "payment-lookup", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert f"would send {LOOKUPS}" in done.stdout and "payment-lookup" in done.stdout, done.stdout
    assert ends(dead, dead.topics.payment_accepted.name) == before
    assert lookups_stored(dead) == 0


def test_payments_dead_lettered_by_a_503_become_orders_once_after_a_redrive(dead: Stack):
    done = redrive(dead, "--reason", "payment-lookup")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"sent {LOOKUPS};" in done.stdout, done.stdout
    dead.wait_for(lambda: lookups_stored(dead) == LOOKUPS, what="an order for every redriven payment")
    assert dead.orders.count_documents({"paymentId": {"$regex": "^later-"}}) == LOOKUPS


def test_a_second_run_sends_nothing(dead: Stack):
    assert redrive(dead, "--reason", "payment-lookup").returncode == 0
    before = ends(dead, dead.topics.payment_accepted.name)
    again = redrive(dead, "--reason", "payment-lookup")
    assert f"sent 0; sent by an earlier run {LOOKUPS}" in again.stdout, again.stdout
    assert ends(dead, dead.topics.payment_accepted.name) == before


def test_a_run_cut_short_is_completed_by_the_next_without_repeats(dead: Stack):
    first = redrive(dead, "--reason", "payment-lookup", "--partition", "0")
    assert first.returncode == 0, first.stdout + first.stderr
    rest = redrive(dead, "--reason", "payment-lookup")
    assert rest.returncode == 0, rest.stdout + rest.stderr
    names = [h for m in _headers(dead) for h in m if h]
    assert len(names) == LOOKUPS == len(set(names)), names


def test_a_redriven_message_is_the_original_with_a_header_naming_the_dead_letter(dead: Stack):
    assert redrive(dead, "--reason", "payment-lookup").returncode == 0
    names = sorted(h for m in _headers(dead) for h in m if h)
    assert len(names) == LOOKUPS
    assert all(n.startswith(f"{dead.topics.order_dlq.name}/") and "@" in n for n in names), names


def test_a_truncated_dead_letter_is_refused_saying_why(dead: Stack):
    before = ends(dead, dead.topics.payment_accepted.name)
    done = redrive(dead, "--reason", "invalid")
    assert done.returncode == 1
    assert "refused 1" in done.stdout and "truncated" in done.stdout, done.stdout
    assert ends(dead, dead.topics.payment_accepted.name) == before


def _headers(stack: Stack) -> list[list[str]]:
    """For each message on payment-accepted, its redrive headers' values."""
    topic = stack.topics.payment_accepted.name
    consumer = Consumer({"bootstrap.servers": stack.settings.kafka_uri, "group.id": "redrive-test-headers"})
    try:
        high = ends(stack, topic)
        consumer.assign([TopicPartition(topic, p, 0) for p in high])
        out: list[list[str]] = []
        seen = dict.fromkeys(high, 0)
        deadline = time.monotonic() + 30
        while any(seen[p] < high[p] for p in high) and time.monotonic() < deadline:
            for msg in consumer.consume(500, 1.0):
                if msg.error() is None:
                    seen[msg.partition()] = (msg.offset() or 0) + 1
                    headers: list[tuple[str, bytes]] = list(msg.headers() or [])
                    out.append([v.decode() for k, v in headers if k == HEADER])
        return out
    finally:
        consumer.close()


def test_a_redrive_header_forged_on_another_message_skips_no_letter(dead: Stack):
    dlq = dead.topics.order_dlq.name
    forged = [(HEADER, f"{dlq}/{p}@{o}".encode()) for p in (0, 1) for o in range(LOOKUPS + 1)]
    dead.producer.produce(dead.topics.payment_accepted.name, b"not a payment", b"forger", headers=forged)
    dead.producer.flush(30)
    done = redrive(dead, "--reason", "payment-lookup")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"sent {LOOKUPS};" in done.stdout, done.stdout
