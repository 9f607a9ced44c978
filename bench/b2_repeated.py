"""B2 repeated: refunds piled on the same orders, as shop clients send them, beside
the original service's way of doing them.

300 orders with a 10-unit line, 1-unit refunds round-robin over them (so about
6.7 refunds per order at 100/s for 20 s), a cookie token, the load generator in
a process of its own, latency from each request's due time. The baseline
(``bench.direct_refund``) takes the same requests with the same generator and
does each as one guarded ``find_one_and_update`` on the same database server, no
Kafka: the original service's design. Both are charged the CPU of every process
of their stack (ours: API, dataflow, broker, database; the baseline's: its
server and the database) per 1,000 refunds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
UNITS = 10
USER = "shopper"
RATES = ((100, 150), (200, 300))  # (refunds/s, p99 bound in ms where no ratio applies)
DIRECT_COLLECTION = "direct-orders"
WARM_UP_S = 8  # 800 refunds: under the 3,000 units of a set of 300 orders, with the measured run's 2,000


def setup(stack: Stack, sets: int, log) -> tuple[int, list[list[str]]]:
    """``sets`` sets of 300 fresh orders: a warm-up's, then one for each run."""
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
    """One 20 s run, and the CPU-seconds each of ``pids`` spent during it."""
    before = {who: cpu_seconds(pid) for who, pid in pids.items()}
    run_ = load(port, rate, 20, ids)
    return run_, {who: cpu_seconds(pid) - before[who] for who, pid in pids.items()}


def direct_updates(stack: Stack, ids: list[str], mongo_pid: int, n: int = 1000) -> float:
    """Server CPU-seconds for ``n`` direct guarded updates making a refund's change."""
    scratch = stack.orders.database["direct-refunds"]
    scratch.insert_many([{**doc, "_id": doc["_id"]} for doc in stack.orders.find({"_id": {"$in": ids[:100]}})])
    before = cpu_seconds(mongo_pid)
    for i in range(n):
        scratch.find_one_and_update(
            {"_id": ids[i % 100], "products.0.refundedQuantity": {"$lt": 10_000}},
            {"$inc": {"products.0.refundedQuantity": 1, "version": 1}},
        )
    return cpu_seconds(mongo_pid) - before


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


def _figures(run_: dict) -> tuple[float, float, int, int]:
    p50, p99 = (percentile(run_["latencies"], q) * 1000 for q in (50, 99))
    sent = sum(run_["statuses"].values())
    late = run_["statuses"].get("202", 0)
    failed = sum(v for k, v in run_["statuses"].items() if k.startswith("5")) + run_["errors"]
    return p50, p99, sent, late + failed


def run(kafka_uri: str, mongo_uri: str, workdir: Path, server_pids: dict[str, int], log, broker: str) -> list[Result]:
    """``server_pids``: {"database": pid, "broker": pid}; ``broker`` names the broker in the rows."""
    # One shopper sends them all (the cost measured is per refund): no per-user limit.
    stack = Stack(kafka_uri, mongo_uri, workdir / f"b2-repeated-{broker}", env={"RATE_LIMIT_MUTATIONS": "off"})
    tag = f"B2 repeated ({broker})"
    try:
        port, (warm_up, direct_ids, *sets) = setup(stack, 2 + len(RATES), log)
        ours = {"API": stack.apis[0].pid, "dataflow": stack.flows[0].pid, **server_pids}
        direct_port, direct_proc = start_direct(stack, direct_ids)
        theirs = {"direct server": direct_proc.pid, "database": server_pids["database"]}
        # Warm-ups, not counted, at the measured rate and long enough for the broker's JVM to
        # compile its hot paths: a 2 s one at 20/s left Apache Kafka's first measured run
        # with twice the broker CPU per refund of the next.
        load(port, 100, WARM_UP_S, ids_file(workdir, "warm-up", warm_up))
        load(direct_port, 100, WARM_UP_S, ids_file(workdir, "direct-warm-up", direct_ids))
        direct_run, direct_cpu = timed_load(direct_port, 100, ids_file(workdir, "direct", direct_ids), theirs)
        d50, d99, d_sent, _ = _figures(direct_run)
        direct_per_k = sum(direct_cpu.values()) / d_sent * 1000
        log(f"    direct baseline at 100/s: p50 {d50:.1f} ms, p99 {d99:.1f} ms, {direct_run['statuses']}, "
            f"{direct_per_k:.2f} CPU-s per 1,000 ({_shares(direct_cpu, d_sent)})")  # fmt: skip
        results: list[Result] = []
        for (rate, bound), ids in zip(RATES, sets, strict=True):
            run_, cpu = timed_load(port, rate, ids_file(workdir, str(rate), ids), ours)
            p50, p99, sent, late = _figures(run_)
            log(f"    {tag} at {rate}/s: p50 {p50:.1f} ms, p99 {p99:.1f} ms, {run_['statuses']}, "
                f"{sum(cpu.values()) / sent * 1000:.2f} CPU-s per 1,000 ({_shares(cpu, sent)})")  # fmt: skip
            note = f"{sent} refunds: {run_['statuses']}"
            if rate == 100:
                results += [
                    Result(f"{tag} p50 at 100/s vs direct", p50, "ms", d50, "", note),
                    Result(f"{tag} p99 at 100/s vs direct", p99, "ms", d99, "ratio <= 2"),
                    Result(
                        f"{tag} CPU-s per 1,000 refunds, whole stack vs direct",
                        sum(cpu.values()) / sent * 1000,
                        "CPU-s",
                        direct_per_k,
                        "ratio <= 1.5",
                        f"ours: {_shares(cpu, sent)}; direct: {_shares(direct_cpu, d_sent)}",
                    ),
                ]
                database = cpu["database"] / sent * 1000
                direct_db = direct_updates(stack, ids, server_pids["database"])
                results.append(
                    Result(f"{tag} database CPU-s per 1,000 refunds vs direct updates", database, "CPU-s",
                           direct_db, "", "baseline: 1,000 find_one_and_update on the same server, one client")
                )  # fmt: skip
            else:
                results.append(Result(f"{tag} p99 at {rate}/s", p99, "ms", None, f"value <= {bound}", note))
            results.append(Result(f"{tag} 202s and 5xx at {rate}/s", late, "answers", None, "value <= 0"))
        children.stop_all([direct_proc], 5.0)  # type: ignore[list-item]
        return results
    finally:
        stack.close()


def _shares(cpu: dict[str, float], sent: int) -> str:
    return ", ".join(f"{who} {seconds / sent * 1000:.2f}" for who, seconds in cpu.items())
