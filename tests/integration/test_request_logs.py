"""Logs operators can search: with LOG_FORMAT=json the API, the supervisor and the
dataflow write one JSON object a line, and a refund's lines are found across the
API and the flow by its requestId."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.sandbox import Stack
from devkit.servers import ROOT, free_port
from ops import children
from tests.integration.one_refund import pay_then_refund


@pytest.fixture
def json_stack(servers, tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(servers.kafka_uri, servers.mongo_uri, tmp_path / "stack", env={"LOG_FORMAT": "json"})
    try:
        yield stack
    finally:
        stack.close()


def start_supervisor(stack: Stack) -> Path:
    """The dataflow under its supervisor, both logging to one file."""
    log_path = stack.workdir / "cluster.log"
    command = [sys.executable, "-m", "ops.cluster", "--processes", "1", "--recovery", str(stack.workdir / "rec")]
    with open(log_path, "wb") as log:
        stack.flows.append(children.start(command, env=stack.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
    return log_path


def json_lines(path: Path) -> list[dict]:
    text = path.read_text()
    lines = [line for line in text.splitlines() if line.strip()]
    not_json = [line for line in lines if not line.startswith("{")]
    assert not not_json, f"{path.name}: lines that are not JSON objects: {not_json[:3]}"
    return [json.loads(line) for line in lines]


async def test_a_refunds_lines_are_found_by_its_request_id_across_api_and_flow(json_stack: Stack):
    stack = json_stack
    cluster_log = start_supervisor(stack)
    port = free_port()
    stack.start_api(port)
    refunded = await pay_then_refund(stack, port, "logged-1")
    assert refunded.status == 200, refunded.body
    order_id, request_id = refunded.order_id, refunded.request_id

    api_log = stack.workdir / f"api-{port}.log"

    def both_said_it() -> bool:  # the access line is written just after the answer is sent
        return all(any(x.get("requestId") == request_id for x in json_lines(log)) for log in (cluster_log, api_log))

    stack.wait_for(both_said_it, timeout=10, what="the API's and the flow's lines about the refund")
    api_lines = [x for x in json_lines(api_log) if x.get("requestId") == request_id]
    flow_lines = [x for x in json_lines(cluster_log) if x.get("requestId") == request_id]

    [access] = [x for x in api_lines if x["logger"] == "http_api.access"]
    assert (access["service"], access["status"], access["orderId"]) == ("api", 200, order_id)
    assert access["path"] == f"/api/order/{order_id}/refund-product"
    [decided] = flow_lines
    assert (decided["service"], decided["message"], decided["orderId"]) == ("flow", "refund applied", order_id)


def test_the_supervisor_writes_json_too(json_stack: Stack):
    cluster_log = start_supervisor(json_stack)
    json_stack.wait_for(
        lambda: any(x["service"] == "supervisor" for x in json_lines(cluster_log)), what="a supervisor line"
    )
    assert {x["service"] for x in json_lines(cluster_log)} <= {"supervisor", "flow"}
