"""``make run`` on its two embedded brokers, side by side: Tansu (memory only) and
Apache Kafka (``--broker kafka``, its data kept under ``ORDER_DATA_DIR/kafka``).

    python -m bench.run_brokers [--rounds 2] [--idle 60]

For each broker, in alternating rounds, a whole ``python -m devkit.run`` (broker,
SecantusDB, the dataflow and the API) from a fresh data folder, then again on the
folder the first run left (Apache Kafka's restart finds its topics):
- start: seconds from the launch to ``/health/ready`` answering 200;
- idle: the broker's CPU, and that of everything the run started, over ``--idle``
  seconds with nothing to do (after 10 s to settle); the broker's resident memory;
- refunds: 50 single-unit refunds one after the other, through the API with the
  development token (the per-user rate limit off), p50 and p99 from request to answer.
Writes bench/results/run-brokers.{md,json}."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.b4_memory import rss_mb
from bench.cpu import cpu_seconds
from bench.load import percentile
from bench.results import Result, markdown
from devkit.run import endpoints
from devkit.samples import payment
from devkit.servers import ROOT, free_port
from shared.ids import order_id_for_payment

OUT = ROOT / "bench" / "results"
SETTLE_S = 10
REFUNDS = 50
BROKERS = {"tansu": "Tansu", "kafka": "Apache Kafka"}


def descendants(root: int) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def broker_pid(run: int, broker: str) -> int:
    mark = b"\0kafka.Kafka\0" if broker == "kafka" else b"\0broker\0--listener-url\0"  # not devkit.run's own
    for pid in descendants(run):
        try:
            if mark in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        except OSError:
            continue
    raise RuntimeError(f"no {broker} process under {run}")


def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:
            continue
    return total


def start(broker: str, data: Path, port: int, log: Path) -> tuple[subprocess.Popen, float]:
    env = {**os.environ, "ORDER_DATA_DIR": str(data), "ORDER_SERVICE_PORT": str(port),
           "FLOW_METRICS_PORT": str(free_port()), "RATE_LIMIT_MUTATIONS": "off"}  # fmt: skip
    for name in ("KAFKA_URI", "MONGO_URI", "JWT_SEC", "BROKER"):
        env.pop(name, None)
    began = time.monotonic()
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "devkit.run", "--broker", broker], cwd=ROOT, env=env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2) as answer:
                if answer.status == 200:
                    return proc, time.monotonic() - began
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() - began > 180:
            raise RuntimeError(f"make run on {broker} did not become ready:\n{log.read_text()[-2000:]}")
        time.sleep(0.1)


def refunds(data: Path, port: int, tag: str) -> list[float]:
    """Milliseconds of ``REFUNDS`` refunds of one unit each, one after the other."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": endpoints(data)["KAFKA_URI"]})
    pay = f"bench-{tag}-{time.monotonic_ns()}"
    line = [{"productId": "apple", "quantity": REFUNDS, "price": 1}]
    producer.produce("payment-accepted", key=pay, value=json.dumps(payment(pay, "user-1", line, totalPrice=REFUNDS)))
    producer.flush(30)
    token = (data / "user-token").read_text().strip()
    order = order_id_for_payment(pay)
    base = f"http://127.0.0.1:{port}/api/order"
    auth = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(urllib.request.Request(f"{base}/findOrder/{order}", headers=auth)):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    body = json.dumps({"productId": "apple", "quantity": 1}).encode()
    headers = {**auth, "Content-Type": "application/json"}
    took = []
    for _ in range(REFUNDS):
        request = urllib.request.Request(f"{base}/{order}/refund-product", body, headers)
        began = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 200, answer.status
        took.append((time.perf_counter() - began) * 1000)
    return took


def stop(proc: subprocess.Popen) -> float:
    began = time.monotonic()
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=60)
    return time.monotonic() - began


def one_run(broker: str, data: Path, idle_s: float, log: Path, tag: str) -> dict[str, float]:
    port = free_port()
    proc, ready_s = start(broker, data, port, log)
    try:
        time.sleep(SETTLE_S)
        server = broker_pid(proc.pid, broker)
        everything = descendants(proc.pid)
        before, before_all = cpu_seconds(server), cpu_of(everything)
        time.sleep(idle_s)
        idle = (cpu_seconds(server) - before) / idle_s
        idle_all = (cpu_of(everything) - before_all) / idle_s
        rss = rss_mb(server)
        took = refunds(data, port, tag)
    finally:
        stop_s = stop(proc)
    return {"ready s": ready_s, "broker idle cores": idle, "run idle cores": idle_all, "broker RSS MB": rss,
            "refund p50 ms": statistics.median(took), "refund p99 ms": percentile(took, 99) if took else 0.0,
            "stop s": stop_s}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run_brokers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--rounds", type=int, default=2, help="rounds, each broker once a round (default 2)")
    parser.add_argument("--idle", type=float, default=60.0, help="idle seconds measured (default 60)")
    args = parser.parse_args(argv)
    seen: dict[tuple[str, str], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="run-brokers-") as tmp:
        for round_ in range(args.rounds):
            for broker in BROKERS if round_ % 2 == 0 else reversed(BROKERS):
                data = Path(tmp) / f"{broker}-{round_}"
                for which in ("fresh", "restart"):
                    figures = one_run(broker, data, args.idle, Path(tmp) / f"{broker}.log", f"{round_}-{which}")
                    print(f"[round {round_ + 1}] {BROKERS[broker]}, {which}: {_line(figures)}", flush=True)
                    seen.setdefault((broker, which), []).append(figures)
                shutil.rmtree(data, ignore_errors=True)
    results = _results(seen)
    OUT.mkdir(parents=True, exist_ok=True)
    title = f"make run on Apache Kafka against Tansu ({args.rounds} rounds, {os.cpu_count()} cores)"
    (OUT / "run-brokers.md").write_text(markdown(results, title))
    (OUT / "run-brokers.json").write_text(json.dumps({f"{b} {w}": v for (b, w), v in seen.items()}, indent=2))
    print(markdown(results, title))


def _line(figures: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.3f}" if value < 10 else f"{name} {value:.0f}" for name, value in figures.items())


def _results(seen: dict[tuple[str, str], list[dict[str, float]]]) -> list[Result]:
    """Apache Kafka's medians against Tansu's, fresh and on a restart."""
    rows = []
    targets = {"ready s": "value <= 15", "broker idle cores": "value <= 0.05"}
    for which in ("fresh", "restart"):
        kafka, tansu = seen[("kafka", which)], seen[("tansu", which)]
        for name in kafka[0]:
            ours = statistics.median(f[name] for f in kafka)
            base = statistics.median(f[name] for f in tansu)
            target = targets.get(name, "")  # what makes Apache Kafka the default (issue 37)
            rows.append(Result(f"make run, {which}: Apache Kafka {name} vs Tansu", ours, name.split()[-1], base,
                               target, f"Apache Kafka: {[round(f[name], 3) for f in kafka]}; "
                               f"Tansu: {[round(f[name], 3) for f in tansu]}"))  # fmt: skip
    return rows


if __name__ == "__main__":
    main()
