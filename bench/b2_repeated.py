"""B2 repeated: refunds piled on the same orders, as shop clients send them, beside
the floor of our design and the original service's way of doing them.

300 orders with a 20-unit line, 1-unit refunds round-robin over them (about 6.7
refunds per order at 100/s for 20 s), a cookie token, the load generator in a
process of its own, latency from each request's due time. Two baselines take the
same requests at the same rates with the same generator, each on fresh orders of its
own on the same servers:
- the floor (``bench.floor_refund``): the same design done bare, an aiohttp handler
  and a plain consumer loop with the same two Kafka hops, topics of the same shape
  and the same client settings; the targets are ratios to it;
- the direct way (``bench.direct_refund``): the original's, a read of the order and
  a guarded write of it, no Kafka; floor / direct is what the design itself costs.
Each is charged the CPU of every process of its stack (ours: API, dataflow, broker,
database) per 1,000 refunds, and the database's operations per refund (its own
``serverStatus`` counters). At 100/s the refunds of ours and of the floor are split
hop by hop (``bench.hops``)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import NamedTuple

from pymongo import MongoClient

from bench import broker_metrics
from bench.cpu import cpu_seconds
from bench.hops import hop_splits, medians, slowest_medians
from bench.load import percentile
from bench.results import Result
from dataflows.setup import ensure_topics
from devkit.samples import payment
from devkit.sandbox import JWT_SECRET, Stack
from devkit.servers import ROOT, free_port, wait_for_port
from http_api.auth import issue_token
from ops import children
from shared.ids import order_id_for_payment

ORDERS = 300
UNITS = 20  # 6,000 a set: more than the 4,000 refunds of 20 s at 200/s
USER = "shopper"
RATES = ((100, 150), (200, 300))  # (refunds/s, p99 bound in ms where no ratio applies)
DIRECT_COLLECTION = "direct-orders"
FLOOR_COLLECTION = "floor-orders"
# Long enough at the measured rate for Apache Kafka's JVM to compile its hot paths: after
# 8 s its first measured run still cost the broker 5.3 CPU-s per 1,000 refunds, the next 2.4.
WARM_UP_S = 20
HOPS_AT = 100  # the rate whose refunds are split hop by hop
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


def database_operations(client: MongoClient) -> int:
    """The server's own count of the operations it has served (``serverStatus`` opcounters)."""
    return sum(client.admin.command("serverStatus")["opcounters"].values())


def timed_load(
    port: int, rate: int, ids: Path, pids: dict[str, int], client: MongoClient, broker_url: str | None
) -> tuple[dict, dict]:
    """One measured run, the CPU-seconds each of ``pids`` spent during it, the database's
    operations, and (``broker_url``: Jolokia's) the broker's own counts of its work."""
    before = {who: cpu_seconds(pid) for who, pid in pids.items()}
    ops_before = database_operations(client)
    broker_before = broker_metrics.snapshot(broker_url) if broker_url else None
    run_ = load(port, rate, MEASURED_S, ids)
    spent = {who: cpu_seconds(pid) - before[who] for who, pid in pids.items()}
    broker = None
    if broker_url is not None and broker_before is not None:
        broker = (broker_before, broker_metrics.snapshot(broker_url))
    return run_, {"cpu": spent, "operations": database_operations(client) - ops_before, "broker": broker}


def ids_file(workdir: Path, name: str, ids: list[str]) -> Path:
    path = workdir / f"b2-repeated-{name}.txt"
    path.write_text("\n".join(ids))
    return path


def copy_orders(stack: Stack, ids: list[str], collection: str) -> None:
    """Copies of ``ids``' orders in ``collection`` of the same database, for a baseline to change."""
    stack.orders.database[collection].insert_many(list(stack.orders.find({"_id": {"$in": ids}})))


class Floor(NamedTuple):
    """The bare design's two processes (``bench.floor_refund``), the API's port, and its
    topics (requests, answers)."""

    port: int
    api: subprocess.Popen
    worker: subprocess.Popen
    topics: tuple[str, str]

    def pids(self, servers: dict[str, int]) -> dict[str, int]:
        return {"floor API": self.api.pid, "floor worker": self.worker.pid, **servers}

    def stop(self) -> None:
        children.stop_all([self.api, self.worker], 5.0)


def start_floor(stack: Stack, ids: list[str]) -> Floor:
    """The floor's processes, on copies of ``ids``' orders, with topics of their own shaped as ours."""
    copy_orders(stack, ids, FLOOR_COLLECTION)
    suffix = stack.topics.refund_request.name
    env = {**stack.env, "FLOOR_REQUESTS": f"floor-requests-{suffix}", "FLOOR_ANSWERS": f"floor-answers-{suffix}",
           "FLOOR_ORDERS": FLOOR_COLLECTION}  # fmt: skip
    ensure_topics(stack.settings.kafka, (env["FLOOR_REQUESTS"], env["FLOOR_ANSWERS"]), stack.settings.partitions)
    port = free_port()
    module = [sys.executable, "-m", "bench.floor_refund"]
    logs = open(stack.workdir / "floor.log", "wb")  # noqa: SIM115 (the children keep it)
    worker = children.start([*module, "worker"], env=env, cwd=ROOT, stdout=logs, stderr=subprocess.STDOUT)
    api = children.start([*module, "api", str(port)], env=env, cwd=ROOT, stdout=logs, stderr=subprocess.STDOUT)
    logs.close()
    wait_for_port(port, api, 30, "the floor's API")
    return Floor(port, api, worker, (env["FLOOR_REQUESTS"], env["FLOOR_ANSWERS"]))


def start_direct(stack: Stack, ids: list[str]) -> tuple[int, subprocess.Popen]:
    """The baseline's server, on copies of ``ids``' orders."""
    copy_orders(stack, ids, DIRECT_COLLECTION)
    port = free_port()
    cmd = [sys.executable, "-m", "bench.direct_refund", str(port), stack.settings.mongo_uri or "", JWT_SECRET,
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
    operations: int  # the database's, over the run (a few are other clients' heartbeats)
    sent: list  # [sent, answered, request id] of each 200 (``bench.hops``)
    # the broker's counts before and after (``bench.broker_metrics``), Apache Kafka only
    broker: tuple[Counter[str], Counter[str]] | None

    @property
    def answers(self) -> int:
        return sum(self.statuses.values())

    @property
    def operations_each(self) -> float:
        return self.operations / self.answers

    @property
    def cpu_per_k(self) -> float:
        return sum(self.cpu.values()) / self.answers * 1000

    @property
    def broker_cpu_per_k(self) -> float:
        return self.cpu.get("broker", 0.0) / self.answers * 1000  # the direct way has none

    def broker_work(self) -> dict[str, float]:
        """The broker's requests and bytes per 1,000 refunds (empty where not counted)."""
        if self.broker is None:
            return {}
        return broker_metrics.per_thousand(*self.broker, self.answers)

    def shares(self) -> str:
        return ", ".join(f"{who} {seconds / self.answers * 1000:.2f}" for who, seconds in self.cpu.items())

    def line(self) -> str:
        return (f"p50 {self.p50:.1f} ms, p99 {self.p99:.1f} ms, {self.statuses}, "
                f"{self.cpu_per_k:.2f} CPU-s per 1,000 ({self.shares()}), "
                f"{self.operations_each:.1f} database operations each")  # fmt: skip


def measure(
    port: int, rate: int, ids: Path, pids: dict[str, int], client: MongoClient, broker_url: str | None
) -> Measured:
    run_, spent = timed_load(port, rate, ids, pids, client, broker_url)
    p50, p99 = (percentile(run_["latencies"], q) * 1000 for q in (50, 99))
    statuses = run_["statuses"]
    failed = statuses.get("202", 0) + sum(v for k, v in statuses.items() if k.startswith("5")) + run_["errors"]
    return Measured(p50, p99, statuses, failed, spent["cpu"], spent["operations"], run_["sent"], spent["broker"])


def run(
    kafka_uri: str,
    mongo_uri: str,
    workdir: Path,
    server_pids: dict[str, int],
    log,
    broker: str,
    broker_url: str | None = None,
) -> list[Result]:
    """``server_pids``: {"database": pid, "broker": pid}; ``broker`` names the broker in the rows;
    ``broker_url``: where the broker's own metrics are read (Apache Kafka's Jolokia agent)."""
    # One shopper sends them all (the cost measured is per refund): no per-user limit.
    stack = Stack(kafka_uri, mongo_uri, workdir / f"b2-repeated-{broker}", env={"RATE_LIMIT_MUTATIONS": "off"})
    tag = f"B2 repeated ({broker})"
    try:
        port, sets = setup(stack, 3 * (1 + len(RATES)), log)
        warm_ups, runs = sets[:3], [sets[i : i + 3] for i in range(3, len(sets), 3)]
        floor = start_floor(stack, warm_ups[1] + [i for _, ids, _ in runs for i in ids])
        direct_port, direct_proc = start_direct(stack, warm_ups[2] + [i for _, _, ids in runs for i in ids])
        stacks = {  # name: (port, pids charged)
            "ours": (port, {"API": stack.apis[0].pid, "dataflow": stack.flows[0].pid, **server_pids}),
            "floor": (floor.port, floor.pids(server_pids)),
            "direct": (direct_port, {"direct server": direct_proc.pid, "database": server_pids["database"]}),
        }
        topics = {"ours": (stack.topics.refund_request.name, stack.topics.order_events.name), "floor": floor.topics}
        for (name, (at, _)), ids in zip(stacks.items(), warm_ups, strict=True):
            load(at, 100, WARM_UP_S, ids_file(workdir, f"{name}-warm-up", ids))
        results: list[Result] = []
        for (rate, bound), run_sets in zip(RATES, runs, strict=True):
            measured = {}
            for (name, (at, pids)), ids in reversed(list(zip(stacks.items(), run_sets, strict=True))):
                measured[name] = measure(
                    at, rate, ids_file(workdir, f"{name}-{rate}", ids), pids, stack.mongo, broker_url
                )
                log(f"    {tag}, {name} at {rate}/s: {measured[name].line()}")
                counted = measured[name].broker
                if counted is not None:
                    log(f"      broker per 1,000: {_rounded(measured[name].broker_work())}, "
                        f"others: {broker_metrics.others(*counted)}")  # fmt: skip
            results += _rows(tag, rate, bound, **measured)
            if rate == HOPS_AT:
                splits = {name: hop_splits(stack.settings.kafka, *topics[name], measured[name].sent) for name in topics}
                for which, of in (("median", medians), ("slowest 1%", slowest_medians)):
                    hops = {name: of(split) for name, split in splits.items()}
                    log(f"    {tag} hops at {rate}/s ({which}, median ms): {hops}")
                    results += _hop_rows(tag, rate, which, hops["ours"], hops["floor"])
        floor.stop()
        children.stop_all([direct_proc], 5.0)
        return results
    finally:
        stack.close()


def _hop_rows(tag: str, rate: int, which: str, ours: dict[str, float], floor: dict[str, float]) -> list[Result]:
    of = "" if which == "median" else f", {which}"
    note = f"median of the {which if of else 'refunds'}, Kafka timestamps"
    return [
        Result(f"{tag} hop at {rate}/s{of}: {hop} vs floor", ms, "ms", floor.get(hop), "", note)
        for hop, ms in ours.items()
    ]


def _rows(tag: str, rate: int, bound: int, ours: Measured, floor: Measured, direct: Measured) -> list[Result]:
    note = f"{ours.answers} refunds: {ours.statuses}; floor: {floor.statuses}; direct: {direct.statuses}"
    at = f"at {rate}/s"
    at_100 = rate == 100  # the CPU target is at 100/s
    return [
        Result(f"{tag} p50 {at} vs floor", ours.p50, "ms", floor.p50, "", note),
        Result(f"{tag} p99 {at} vs floor", ours.p99, "ms", floor.p99, "ratio <= 1.5"),
        Result(f"{tag} CPU-s per 1,000 refunds {at}, whole stack vs floor", ours.cpu_per_k, "CPU-s",
               floor.cpu_per_k, "ratio <= 1.3" if at_100 else "", f"ours: {ours.shares()}; floor: {floor.shares()}"),
        Result(f"{tag} broker CPU-s per 1,000 refunds {at} vs floor", ours.broker_cpu_per_k, "CPU-s",
               floor.broker_cpu_per_k, "ratio <= 1.5" if at_100 and ours.broker else "",
               "the direct way uses no broker"),
        Result(f"{tag} database operations per refund {at} vs floor", ours.operations_each, "operations",
               floor.operations_each, "", f"direct: {direct.operations_each:.2f}"),
        Result(f"{tag} 202s and 5xx {at}", ours.failed, "answers", None, "value <= 0",
               f"floor: {floor.failed}, direct: {direct.failed}"),
        Result(f"{tag} floor p99 {at} vs direct (the design's own cost)", floor.p99, "ms", direct.p99, ""),
        Result(f"{tag} floor CPU-s per 1,000 refunds {at} vs direct", floor.cpu_per_k, "CPU-s", direct.cpu_per_k,
               "", f"direct: {direct.shares()}"),
    ] + ([] if at_100 else [Result(f"{tag} p99 {at}", ours.p99, "ms", None, f"value <= {bound}")]) + _broker_rows(
        tag, at, ours, floor, direct)  # fmt: skip


def _broker_rows(tag: str, at: str, ours: Measured, floor: Measured, direct: Measured) -> list[Result]:
    """The broker's own counts of its work per 1,000 refunds (Apache Kafka's metrics)."""
    work = {name: m.broker_work() for name, m in (("ours", ours), ("floor", floor), ("direct", direct))}
    return [
        Result(f"{tag} broker {row} per 1,000 refunds {at} vs floor", n, row.split()[0] if row.startswith("bytes")
               else "count", work["floor"].get(row), "",
               f"direct: {work['direct'].get(row, 0):,.0f} (the broker idle beside it)")
        for row, n in work["ours"].items()
    ]  # fmt: skip


def _rounded(work: dict[str, float]) -> dict[str, int]:
    return {row: round(n) for row, n in work.items()}
