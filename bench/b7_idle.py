"""B7: what an idle minute costs, and how the first refund after it is served.

A dataflow and an API with nothing to do for 60 s (after 10 s to settle): the
CPU of each process and of the broker, against the target of 0.03 cores for the
dataflow and the API together, and beside a bytewax dataflow with nothing to do
(``bench.idle_bytewax``) over the same minute: the floor bytewax sets. Then one
refund, timed from its request to its answer, beside the floor's (``bench.floor_refund``)
after the same minute; five times, each after its own idle minute: idle must not make the
next user wait."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.b2_repeated import start_floor
from bench.cpu import cpu_seconds
from bench.repeated_load import SAME_ORIGIN
from bench.results import Result
from devkit.samples import payment
from devkit.sandbox import JWT_SECRET, Stack
from devkit.servers import ROOT, free_port, wait_for_port
from http_api.auth import issue_token
from ops import children
from shared.ids import order_id_for_payment

SETTLE_S = 10
IDLE_S = 60
FIRST_REFUNDS = 5  # each after an idle minute of its own
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


def run(kafka_uri: str, mongo_uri: str, workdir: Path, broker_pid: int, log) -> list[Result]:
    stack = Stack(kafka_uri, mongo_uri, workdir / "b7-idle")
    floor = None
    try:
        stack.start_flow()
        port = free_port()
        wait_for_port(port, stack.start_api(port), 30, "the API")
        line = [{"productId": "apple", "quantity": 20, "price": 1}]
        body = payment("idle-1", "idle-user", line, totalPrice=20)
        stack.produce(stack.topics.payment_accepted.name, [("idle-1", body)])
        order_id = order_id_for_payment("idle-1")
        stack.wait_for(lambda: stack.orders.find_one({"_id": order_id}) is not None, 60, "the idle bench's order")
        floor = start_floor(stack, [order_id])
        ports = {"ours": port, "floor": floor.port}
        for at in ports.values():
            refund_once(at, order_id)  # the path warm, as it is in a service that has run a while
        cores = _idle_minute(stack, broker_pid, log)
        firsts: dict[str, list[float]] = {"ours": [], "floor": []}
        for round_ in range(FIRST_REFUNDS):
            if round_:
                log(f"  idle for {IDLE_S} s ({round_ + 1} of {FIRST_REFUNDS})")
                time.sleep(IDLE_S)
            for name in sorted(ports, reverse=round_ % 2 == 1):  # each goes first as often
                firsts[name].append(refund_once(ports[name], order_id))
        ours, bare = statistics.median(firsts["ours"]), statistics.median(firsts["floor"])
        shares = ", ".join(f"{who} {c:.3f}" for who, c in cores.items())
        log(f"    idle cores: {shares}; first refund after idle: ours {firsts['ours']}, floor {firsts['floor']} ms")
        note = f"median of {FIRST_REFUNDS}, each after its own idle minute; ours {_ms(firsts['ours'])}"
        return [
            Result("B7 idle minute: dataflow + API", cores["dataflow"] + cores["API"], "cores", None,
                   f"value <= {TARGET_CORES}", shares),
            Result("B7 idle minute: dataflow vs a bare bytewax dataflow", cores["dataflow"], "cores",
                   cores["bare bytewax"], "", "bench/idle_bytewax.py: one worker, a source asleep, no recovery"),
            Result("B7 first refund after an idle minute vs the floor's", ours, "ms", bare, "ratio <= 2",
                   f"{note}; floor {_ms(firsts['floor'])}"),
        ]  # fmt: skip
    finally:
        if floor is not None:
            floor.stop()
        stack.close()


def _idle_minute(stack: Stack, broker_pid: int, log) -> dict[str, float]:
    """The cores each process used over an idle minute, beside a bare bytewax dataflow's."""
    bare = children.start([sys.executable, "-m", "bytewax.run", "bench.idle_bytewax:flow"], cwd=ROOT,
                          stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        time.sleep(SETTLE_S)
        pids = {
            "dataflow": stack.flows[0].pid,
            "API": stack.apis[0].pid,
            "broker": broker_pid,
            "bare bytewax": bare.pid,
        }
        before = {who: cpu_seconds(pid) for who, pid in pids.items()}
        log(f"  idle for {IDLE_S} s (1 of {FIRST_REFUNDS}, its CPU measured)")
        time.sleep(IDLE_S)
        return {who: (cpu_seconds(pid) - before[who]) / IDLE_S for who, pid in pids.items()}
    finally:
        children.stop_all([bare], 5.0)


def _ms(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values) + " ms"
