"""The flow's lag, as Kafka's own tool shows it: ``ConsumerGroupCommand --describe``
(from the broker's jars) lists the flow's group with every input partition, and the
lag falls to 0 once a backlog is processed, before and after a rescale from 1
process to 2 on one recovery store."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from bytewax.recovery import init_db_dir

from devkit.kafka_jars import java, kafka_jars
from devkit.sandbox import Stack
from shared.ids import order_id_for_payment
from tests.flowkit import payment
from tests.integration.test_rescale import cluster

pytestmark = pytest.mark.apache_only  # Kafka's own tool, on Apache Kafka
TOOL = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"
PARTITIONS = 2
BACKLOG = 120


@pytest.fixture
def grouped(servers, tmp_path: Path) -> Iterator[Stack]:
    group = f"order-flow-{uuid.uuid4().hex[:8]}"
    s = Stack(servers.kafka_uri, servers.mongo_uri, tmp_path, partitions=PARTITIONS, env={"KAFKA_GROUP_ID": group})
    try:
        yield s
    finally:
        s.close()


def describe(stack: Stack) -> dict[tuple[str, int], tuple[int | None, int, int | None]]:
    """(topic, partition) -> (current offset, log-end offset, lag) of the flow's group."""
    classpath = f"{kafka_jars()}/*"
    command = [java(), "-cp", classpath, TOOL, "--bootstrap-server", stack.settings.kafka_uri or ""]
    done = subprocess.run(
        [*command, "--describe", "--group", stack.settings.kafka_group_id],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    rows = {}
    for line in done.stdout.splitlines():
        cells = line.split()
        if len(cells) >= 6 and cells[0] == stack.settings.kafka_group_id:
            current, end, lag = cells[3], cells[4], cells[5]
            rows[(cells[1], int(cells[2]))] = (_number(current), int(end), _number(lag))
    return rows


def _number(cell: str) -> int | None:
    return None if cell == "-" else int(cell)


def input_partitions(stack: Stack) -> set[tuple[str, int]]:
    return {(t.name, p) for t in stack.topics.inputs for p in range(PARTITIONS)}


def backlog(stack: Stack, prefix: str, count: int) -> list[str]:
    payments = [payment(f"{prefix}-{i}") for i in range(count)]
    stack.produce(stack.topics.payment_accepted.name, [(p["paymentId"], p) for p in payments])
    return [order_id_for_payment(p["paymentId"]) for p in payments]


def stored(stack: Stack, ids: list[str]) -> int:
    return stack.orders.count_documents({"_id": {"$in": ids}})


def lag_falls_to_zero(stack: Stack, timeout: float = 60) -> dict:
    """The group's rows once every input partition with messages shows lag 0 and every
    input partition is listed (an empty one's first offset is committed in the
    background, at the next group commit: at most a second or two after the rest)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = describe(stack)
        written = {k: v for k, v in rows.items() if v[1] > 0}
        listed = input_partitions(stack) <= set(rows)
        if written and listed and all(lag == 0 for _, _, lag in written.values()):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"lag not 0 in {timeout}s: {rows}")
        time.sleep(1)


def test_the_group_lists_every_input_partition_and_its_lag_falls_to_zero(grouped: Stack, tmp_path: Path):
    ids = backlog(grouped, "lag", BACKLOG)
    recovery = tmp_path / "recovery"
    recovery.mkdir()
    init_db_dir(recovery, 2)
    supervisor = cluster(grouped, recovery, 1)
    try:
        grouped.wait_for(lambda: stored(grouped, ids) == BACKLOG, 120, "the backlog")
        rows = lag_falls_to_zero(grouped)
    finally:
        supervisor.stop()
    assert input_partitions(grouped) <= set(rows), sorted(rows)
    payments = [rows[(grouped.topics.payment_accepted.name, p)] for p in range(PARTITIONS)]
    assert sum(current or 0 for current, _, _ in payments) == BACKLOG, payments


def test_after_a_rescale_from_1_to_2_processes_the_lag_still_falls_to_zero(grouped: Stack, tmp_path: Path):
    recovery = tmp_path / "recovery"
    recovery.mkdir()
    init_db_dir(recovery, 2)
    first = backlog(grouped, "one", BACKLOG // 2)
    supervisor = cluster(grouped, recovery, 1)
    try:
        grouped.wait_for(
            lambda: grouped.orders.count_documents({"_id": {"$in": first}}) == len(first), 120, "1 process"
        )
        lag_falls_to_zero(grouped)
    finally:
        supervisor.stop()
    second = backlog(grouped, "two", BACKLOG)
    assert sum(lag or 0 for _, _, lag in describe(grouped).values()) == BACKLOG, "the new backlog shows as lag"
    supervisor = cluster(grouped, recovery, 2)
    try:
        grouped.wait_for(
            lambda: grouped.orders.count_documents({"_id": {"$in": second}}) == BACKLOG, 120, "2 processes"
        )
        rows = lag_falls_to_zero(grouped)
    finally:
        supervisor.stop()
    payments = [rows[(grouped.topics.payment_accepted.name, p)] for p in range(PARTITIONS)]
    assert sum(current or 0 for current, _, _ in payments) == BACKLOG // 2 + BACKLOG, payments
