"""A recovery store resumes only against the input it was made for.

Both ways a topic's name comes to hold other messages: a broker that keeps
nothing restarts (two Tansu instances one after the other), and a topic is
deleted and made again (Apache Kafka). The flow on its own refuses to resume
with an error saying how to reset; ``make run`` (``devkit.run``) makes a fresh store
itself, and every payment and API request after the switch is applied.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from dataflows.setup import prepare
from devkit.sandbox import JWT_SECRET, Stack
from devkit.servers import ROOT, Tansu, free_port
from http_api.auth import issue_token
from shared.ids import order_id_for_payment
from shared.topics import names
from tests.flowkit import payment

OWNER = issue_token(JWT_SECRET, "user-1", [])


def pay(stack: Stack, prefix: str, n: int) -> list[str]:
    ids = [f"{prefix}-{i}" for i in range(n)]
    stack.produce(stack.topics.payment_accepted.name, [(p, payment(p, user="user-1")) for p in ids])
    return [order_id_for_payment(p) for p in ids]


def stored(stack: Stack, order_ids: list[str]) -> int:
    return stack.orders.count_documents({"_id": {"$in": order_ids}})


def run_until_snapshotted(stack: Stack, recovery: Path) -> list[str]:
    flow = stack.start_flow(recovery=recovery)
    before = pay(stack, "before", 10)
    stack.wait_for(lambda: stored(stack, before) == 10, what="orders before the switch")
    time.sleep(2.5)  # a snapshot every second: the store now holds offsets past these payments
    stack.kill_flow(flow, signal.SIGKILL)
    return before


def refusal(stack: Stack, recovery: Path) -> str:
    flow = stack.start_flow(recovery=recovery)
    flow.wait(timeout=60)
    stack.stopped.add(flow.pid)
    assert flow.returncode != 0, "the flow resumed on topics its recovery store was not made for"
    return stack.flow_log()


def start_launcher(stack: Stack, recovery: Path, port: int) -> tuple[subprocess.Popen, Path]:
    log = stack.workdir / "launcher.log"
    env = {**stack.env, "ORDER_SERVICE_PORT": str(port), "ORDER_DATA_DIR": str(stack.workdir / "data")}
    env["RECOVERY_DIR"] = str(recovery)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "devkit.run"], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    return proc, log


def http(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, method=method, headers={"Authorization": f"Bearer {OWNER}"})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def wait_for_api(stack: Stack, proc: subprocess.Popen, base: str) -> None:
    def up() -> bool:
        assert proc.poll() is None, (stack.workdir / "launcher.log").read_text()
        try:
            with urllib.request.urlopen(f"{base}/health/ready", timeout=2):
                return True
        except OSError:
            return False

    stack.wait_for(up, timeout=90, what="the launcher's API", interval=0.3)


def after_the_switch_everything_is_applied(stack: Stack, recovery: Path, before: list[str]) -> None:
    port = free_port()
    proc, log = start_launcher(stack, recovery, port)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_api(stack, proc, base)
        assert "made fresh, the old one did not match the input topics" in log.read_text()
        after = pay(stack, "after", 10)
        stack.wait_for(lambda: stored(stack, after) == 10, what="every payment after the switch")
        status, order = http("POST", f"{base}/api/order/{before[0]}/refund")
        assert status == 200, order
        assert order["status"] == "Refunded"
        status, order = http("PATCH", f"{base}/api/order/{after[0]}", {"address": "2 New Road"})
        assert status == 200, order
        assert order["address"] == "2 New Road"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def check_both_paths(stack: Stack, recovery: Path, switch: Callable[[], None]) -> None:
    before = run_until_snapshotted(stack, recovery)
    switch()
    stack.reconnect()
    log = refusal(stack, recovery)
    assert "the recovery store does not match the input topics" in log
    assert f"rm -r {recovery}" in log
    after_the_switch_everything_is_applied(stack, recovery, before)


@pytest.mark.tansu_only
def test_a_store_from_one_tansu_is_refused_by_the_next(servers, tmp_path: Path):
    first = Tansu(log_path=tmp_path / "tansu-1.log").start()
    stack = Stack(first.uri, servers.mongo_uri, tmp_path / "work")
    second = Tansu(port=first.port, log_path=tmp_path / "tansu-2.log")

    def restart_the_broker() -> None:
        first.stop()
        second.start()
        prepare(stack.settings)

    try:
        check_both_paths(stack, tmp_path / "recovery", restart_the_broker)
    finally:
        stack.close()
        first.stop()
        second.stop()


@pytest.mark.apache_only
def test_a_store_is_refused_after_its_topics_are_deleted_and_made_again(stack: Stack, tmp_path: Path):
    def remake_the_input_topics() -> None:
        admin = AdminClient({"bootstrap.servers": str(stack.settings.kafka_uri)})
        inputs = names(stack.topics.inputs)
        for future in admin.delete_topics(inputs).values():
            future.result(timeout=30)
        deadline = time.monotonic() + 60
        while True:  # deletion finishes in the background; creating too early is refused
            futures = admin.create_topics([NewTopic(t, num_partitions=4, replication_factor=1) for t in inputs])
            try:
                for future in futures.values():
                    future.result(timeout=30)
                break
            except KafkaException as exc:
                if "TOPIC_ALREADY_EXISTS" not in str(exc) and "marked for deletion" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        prepare(stack.settings)

    check_both_paths(stack, tmp_path / "recovery", remake_the_input_topics)
