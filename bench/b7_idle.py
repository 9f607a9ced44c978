"""B7: what an idle minute costs, and how the first refund after it is served.

A dataflow and an API with nothing to do for 60 s (after 10 s to settle): the
CPU of each process and of the broker, against the target of 0.03 cores for the
dataflow and the API together, and beside a bytewax dataflow with nothing to do
(``bench.idle_bytewax``) over the same minute: the floor bytewax sets. Then one
refund, timed from its request to its answer: idle must not make the next user wait."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.cpu import cpu_seconds
from bench.repeated_load import SAME_ORIGIN
from bench.results import Result
from http_api.auth import issue_token
from ops import children
from ops.samples import payment
from ops.sandbox import JWT_SECRET, Stack
from ops.servers import ROOT, free_port, wait_for_port
from shared.ids import order_id_for_payment

SETTLE_S = 10
IDLE_S = 60
TARGET_CORES = 0.03


def refund_once(port: int, order_id: str) -> float:
    """Milliseconds from sending one refund to its answer (which must be 200)."""
    token = issue_token(JWT_SECRET, "idle-user", [])
    body = json.dumps({"productId": "apple", "quantity": 1}).encode()
    headers = {**SAME_ORIGIN, "Content-Type": "application/json", "Cookie": f"token={token}"}
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/order/{order_id}/refund-product", body, headers)
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200, response.status
    return (time.perf_counter() - started) * 1000


def run(kafka_uri: str, mongo_uri: str, workdir: Path, broker_pid: int, log, direct_p99: float | None) -> list[Result]:
    stack = Stack(kafka_uri, mongo_uri, workdir / "b7-idle")
    try:
        stack.start_flow()
        port = free_port()
        wait_for_port(port, stack.start_api(port), 30, "the API")
        line = [{"productId": "apple", "quantity": 5, "price": 1}]
        body = payment("idle-1", "idle-user", line, totalPrice=5)
        stack.produce(stack.topics.payment_accepted.name, [("idle-1", body)])
        order_id = order_id_for_payment("idle-1")
        stack.wait_for(lambda: stack.orders.find_one({"_id": order_id}) is not None, 60, "the idle bench's order")
        refund_once(port, order_id)  # the path warm, as it is in a service that has run a while
        bare = children.start([sys.executable, "-m", "bytewax.run", "bench.idle_bytewax:flow"], cwd=ROOT,
                              stdout=subprocess.DEVNULL)  # fmt: skip
        time.sleep(SETTLE_S)
        pids = {
            "dataflow": stack.flows[0].pid,
            "API": stack.apis[0].pid,
            "broker": broker_pid,
            "bare bytewax": bare.pid,
        }
        before = {who: cpu_seconds(pid) for who, pid in pids.items()}
        log(f"  idle for {IDLE_S} s")
        time.sleep(IDLE_S)
        cores = {who: (cpu_seconds(pid) - before[who]) / IDLE_S for who, pid in pids.items()}
        children.stop_all([bare], 5.0)
        first = refund_once(port, order_id)
        shares = ", ".join(f"{who} {c:.3f}" for who, c in cores.items())
        log(f"    idle cores: {shares}; first refund after it: {first:.1f} ms")
        ours = cores["dataflow"] + cores["API"]
        return [
            Result("B7 idle minute: dataflow + API", ours, "cores", None, f"value <= {TARGET_CORES}", shares),
            Result("B7 idle minute: dataflow vs a bare bytewax dataflow", cores["dataflow"], "cores",
                   cores["bare bytewax"], "", "bench/idle_bytewax.py: one worker, a source asleep, no recovery"),
            Result("B7 first refund after an idle minute vs direct p99", first, "ms", direct_p99,
                   "ratio <= 2" if direct_p99 else ""),
        ]  # fmt: skip
    finally:
        stack.close()
