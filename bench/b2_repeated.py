"""B2 repeated: refunds piled on the same orders, as shop clients send them, beside
the original service's way of doing them.

300 orders with a 20-unit line, 1-unit refunds round-robin over them (about 6.7
refunds per order at 100/s for 20 s), a cookie token, the load generator in a
process of its own, latency from each request's due time. The baseline
(``bench.direct_refund``) takes the same requests at the same rates with the same
generator and does each as the original does, a read of the order and a guarded
write of it on the same database server, no Kafka. Each run has fresh orders of its
own. Both are charged the CPU of every process of their stack (ours: API, dataflow,
broker, database; the baseline's: its server and the database) per 1,000 refunds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from bench.cpu import cpu_seconds
from bench.load import percentile
from bench.results import Result
from http_api.auth import issue_token
from ops import children
from ops.samples import payment
from ops.sandbox import JWT_SECRET, Stack
from ops.servers import ROOT, free_port, wait_for_port
from shared.ids import order_id_for_payment

ORDERS = 300
UNITS = 20  # 6,000 a set: more than the 4,000 refunds of 20 s at 200/s
USER = "shopper"
RATES = ((100, 150), (200, 300))  # (refunds/s, p99 bound in ms where no ratio applies)
DIRECT_COLLECTION = "direct-orders"
# Long enough at the measured rate for Apache Kafka's JVM to compile its hot paths: after
# 8 s its first measured run still cost the broker 5.3 CPU-s per 1,000 refunds, the next 2.4.
WARM_UP_S = 20
MEASURED_S = 20


def setup(stack: Stack, sets: int, log) -> tuple[int, list[list[str]]]:
    """``sets`` sets of 300 fresh orders."""
    stack.start_flow()
    line = [{"productId": "apple", "quantity": UNITS, "price": 1}]
    bodies = [payment(f"rep-{i}", user=USER, products=line, totalPrice=UNITS) for i in range(sets * ORDERS)]
    stack.produce(stack.topics.payment_accepted.name, [(b["paymentId"], b) for b in bodies])
    ids = [order_id_for_payment(b["paymentId"]) for b in bodies]
    stack.wait_for(lambda: stack.orders.count_documents({}) >= len(ids), 120, "B2 repeated orders")
    port = free_port()
    wait_for_port(port, stack.start_api(port), 30, "the API")
    log(f"  API on :{port}, {sets} x {ORDERS} orders of {UNITS} units ready")
    return port, [ids[i : i + ORDERS] for i in range(0, len(ids), ORDERS)]


def load(port: int, rate: int, seconds: float, ids_file: Path) -> dict:
    token = issue_token(JWT_SECRET, USER, [])
    cmd = [sys.executable, "-m", "bench.repeated_load", str(port), str(rate), str(seconds), str(ids_file), token]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def timed_load(port: int, rate: int, ids: Path, pids: dict[str, int]) -> tuple[dict, dict[str, float]]:
    """One measured run, and the CPU-seconds each of ``pids`` spent during it."""
    before = {who: cpu_seconds(pid) for who, pid in pids.items()}
    run_ = load(port, rate, MEASURED_S, ids)
    return run_, {who: cpu_seconds(pid) - before[who] for who, pid in pids.items()}


def ids_file(workdir: Path, name: str, ids: list[str]) -> Path:
    path = workdir / f"b2-repeated-{name}.txt"
    path.write_text("\n".join(ids))
    return path


def start_direct(stack: Stack, ids: list[str]) -> tuple[int, object]:
    """The baseline's server, on copies of ``ids``' orders."""
    copies = stack.orders.database[DIRECT_COLLECTION]
    copies.insert_many(list(stack.orders.find({"_id": {"$in": ids}})))
    port = free_port()
    cmd = [sys.executable, "-m", "bench.direct_refund", str(port), stack.settings.mongo_uri, JWT_SECRET,
           DIRECT_COLLECTION]  # fmt: skip
    proc = children.start(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, proc, 30, "the direct baseline")
    return port, proc


class Measured(NamedTuple):
    """One run at one rate: latency from due time, answers, and CPU by process."""

    p50: float
    p99: float
    statuses: dict[str, int]
    failed: int  # answers that are 202 (no outcome in time) or 5xx, and requests with no answer
    cpu: dict[str, float]

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())

    @property
    def cpu_per_k(self) -> float:
        return sum(self.cpu.values()) / self.sent * 1000

    def shares(self) -> str:
        return ", ".join(f"{who} {seconds / self.sent * 1000:.2f}" for who, seconds in self.cpu.items())

    def line(self) -> str:
        return (f"p50 {self.p50:.1f} ms, p99 {self.p99:.1f} ms, {self.statuses}, "
                f"{self.cpu_per_k:.2f} CPU-s per 1,000 ({self.shares()})")  # fmt: skip


def measure(port: int, rate: int, ids: Path, pids: dict[str, int]) -> Measured:
    run_, cpu = timed_load(port, rate, ids, pids)
    p50, p99 = (percentile(run_["latencies"], q) * 1000 for q in (50, 99))
    statuses = run_["statuses"]
    failed = statuses.get("202", 0) + sum(v for k, v in statuses.items() if k.startswith("5")) + run_["errors"]
    return Measured(p50, p99, statuses, failed, cpu)


def run(kafka_uri: str, mongo_uri: str, workdir: Path, server_pids: dict[str, int], log, broker: str) -> list[Result]:
    """``server_pids``: {"database": pid, "broker": pid}; ``broker`` names the broker in the rows."""
    # One shopper sends them all (the cost measured is per refund): no per-user limit.
    stack = Stack(kafka_uri, mongo_uri, workdir / f"b2-repeated-{broker}", env={"RATE_LIMIT_MUTATIONS": "off"})
    tag = f"B2 repeated ({broker})"
    try:
        port, (warm_up, direct_warm_up, *sets) = setup(stack, 2 + 2 * len(RATES), log)
        ours = {"API": stack.apis[0].pid, "dataflow": stack.flows[0].pid, **server_pids}
        direct_port, direct_proc = start_direct(stack, direct_warm_up + [i for ids in sets[1::2] for i in ids])
        theirs = {"direct server": direct_proc.pid, "database": server_pids["database"]}
        load(port, 100, WARM_UP_S, ids_file(workdir, "warm-up", warm_up))
        load(direct_port, 100, WARM_UP_S, ids_file(workdir, "direct-warm-up", direct_warm_up))
        results: list[Result] = []
        for (rate, bound), ours_ids, direct_ids in zip(RATES, sets[0::2], sets[1::2], strict=True):
            direct = measure(direct_port, rate, ids_file(workdir, f"direct-{rate}", direct_ids), theirs)
            log(f"    direct baseline at {rate}/s: {direct.line()}")
            measured = measure(port, rate, ids_file(workdir, str(rate), ours_ids), ours)
            log(f"    {tag} at {rate}/s: {measured.line()}")
            results += _rows(tag, rate, bound, measured, direct)
        children.stop_all([direct_proc], 5.0)  # type: ignore[list-item]
        return results
    finally:
        stack.close()


def _rows(tag: str, rate: int, bound: int, ours: Measured, direct: Measured) -> list[Result]:
    note = f"{ours.sent} refunds: {ours.statuses}; direct: {direct.statuses}"
    shares = f"ours: {ours.shares()}; direct: {direct.shares()}"
    at = f"at {rate}/s"
    targeted = rate == 100  # the issue's targets are at 100/s; at 200/s only "no 202"
    return [
        Result(f"{tag} p50 {at} vs direct", ours.p50, "ms", direct.p50, "", note),
        Result(f"{tag} p99 {at} vs direct", ours.p99, "ms", direct.p99, "ratio <= 2" if targeted else ""),
        Result(f"{tag} CPU-s per 1,000 refunds {at}, whole stack vs direct", ours.cpu_per_k, "CPU-s",
               direct.cpu_per_k, "ratio <= 1.5" if targeted else "", shares),
        Result(f"{tag} database CPU-s per 1,000 refunds {at} vs direct", ours.cpu["database"] / ours.sent * 1000,
               "CPU-s", direct.cpu["database"] / direct.sent * 1000, ""),
        Result(f"{tag} 202s and 5xx {at}", ours.failed, "answers", None, "value <= 0", f"direct: {direct.failed}"),
    ] + ([] if targeted else [Result(f"{tag} p99 {at}", ours.p99, "ms", None, f"value <= {bound}")])  # fmt: skip
