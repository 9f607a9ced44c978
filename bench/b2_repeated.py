"""B2 repeated: refunds piled on the same orders, as shop clients send them.

300 orders with a 10-unit line, 1-unit refunds round-robin over them (so about
6.7 refunds per order at 100/s for 20 s), a cookie token, the load generator in
a process of its own, latency from each request's due time. Beside it, the
database server's CPU-seconds per 1,000 refunds against 1,000 direct
``find_one_and_update`` calls making the same change on the same server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from bench.cpu import cpu_seconds
from bench.load import percentile
from bench.results import Result
from http_api.auth import issue_token
from ops.samples import payment
from ops.sandbox import JWT_SECRET, Stack
from ops.servers import ROOT, free_port, wait_for_port
from shared.ids import order_id_for_payment

ORDERS = 300
UNITS = 10
USER = "shopper"


def setup(stack: Stack, sets: int, log) -> tuple[int, list[list[str]]]:
    """``sets`` sets of 300 fresh orders: a warm-up's, then one for each rate."""
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


def run(kafka_uri: str, mongo_uri: str, workdir: Path, mongo_pid: int, log) -> list[Result]:
    # One shopper sends them all (the cost measured is per refund): no per-user limit.
    stack = Stack(kafka_uri, mongo_uri, workdir / "b2-repeated", env={"RATE_LIMIT_MUTATIONS": "off"})
    try:
        port, (warm_up, *sets) = setup(stack, 3, log)
        load(port, 20, 2, ids_file(workdir, "warm-up", warm_up))  # not counted
        results: list[Result] = []
        for (rate, target), ids in zip(((100, 150), (200, 300)), sets, strict=True):
            targets = ids_file(workdir, str(rate), ids)
            cpu_before, started = cpu_seconds(mongo_pid), time.perf_counter()
            run_ = load(port, rate, 20, targets)
            cpu = cpu_seconds(mongo_pid) - cpu_before
            sent = sum(run_["statuses"].values())
            p50, p99 = (percentile(run_["latencies"], q) * 1000 for q in (50, 99))
            log(f"    B2 repeated at {rate}/s: p50 {p50:.1f} ms, p99 {p99:.1f} ms, {run_['statuses']}, "
                f"db {cpu:.1f} CPU-s in {time.perf_counter() - started:.0f}s")  # fmt: skip
            accepted = run_["statuses"].get("202", 0)
            failed = sum(v for k, v in run_["statuses"].items() if k.startswith("5")) + run_["errors"]
            note = f"{sent} refunds: {run_['statuses']}"
            results += [
                Result(f"B2 repeated p50 at {rate}/s", p50, "ms", None, "", note),
                Result(f"B2 repeated p99 at {rate}/s", p99, "ms", None, f"value <= {target}"),
                Result(f"B2 repeated 202s and 5xx at {rate}/s", accepted + failed, "answers", None, "value <= 0"),
            ]
            if rate == 100:
                per_thousand = cpu / sent * 1000
                direct = direct_updates(stack, ids, mongo_pid)
                log(f"    database CPU per 1,000 refunds: {per_thousand:.2f} s; direct updates: {direct:.2f} s")
                results.append(
                    Result(
                        "B2 repeated database CPU-s per 1,000 refunds vs direct updates",
                        per_thousand,
                        "CPU-s",
                        direct,
                        "ratio <= 2",
                        "baseline: 1,000 find_one_and_update on the same server",
                    )
                )
        return results
    finally:
        stack.close()
