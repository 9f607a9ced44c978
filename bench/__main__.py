"""Run the benchmarks on embedded servers and write bench/results/latest.{json,md,png}.

python -m bench            # full sizes (B1 200,000 orders, B4 1,000,000)
BENCH_QUICK=1 python -m bench   # smaller sizes, about 18 minutes
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import b1_throughput, b2_b3_api, b2_repeated, b4_memory, b5_scaling, b6_growth, b7_idle
from bench.calibrate import machine_speed
from bench.results import Result, write_reports
from devkit.servers import ApacheKafka, SecantusDB, Tansu
from ops import children

OUT = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1", help="smaller sizes"
    )
    parser.add_argument(
        "--only",
        default="B1,B2,B4,B5,B6,B7",
        help="which to run, e.g. B1,B4 (B2 includes B3 and B2 repeated; B2R is B2 repeated alone)",
    )
    parser.add_argument(
        "--repeated-on",
        default="Tansu,Apache Kafka",
        help="the brokers B2 repeated runs on (default both: 'Tansu,Apache Kafka')",
    )
    args = parser.parse_args(argv)
    children.exit_on_sigterm()  # a killed bench stops its servers, not only asks them to
    only = {x.strip().upper() for x in args.only.split(",")}
    quick = args.quick
    started = time.perf_counter()

    def log(line: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {line}", flush=True)

    results: list[Result] = []

    def measured(rows: list[Result], speed: float) -> list[Result]:
        for row in rows:
            row.machine = speed
        return rows

    with tempfile.TemporaryDirectory(prefix="order-bench-") as tmp:
        workdir = Path(tmp)
        with Tansu(log_path=workdir / "tansu.log") as kafka, SecantusDB(workdir / "mongo") as mongo:
            log(f"servers: Tansu {kafka.uri}, SecantusDB {mongo.uri} ({'quick' if quick else 'full'} sizes)")
            servers = {"database": mongo.pid, "broker": kafka.pid}
            if "B1" in only:
                log("B1 dataflow throughput")
                n = 20_000 if quick else 200_000
                results += measured(b1_throughput.run(kafka.uri, mongo.uri, workdir, n, 20_000, log), machine_speed())
            if "B2" in only or "B3" in only:
                log("B2 refund latency, B3 reads")
                results += measured(b2_b3_api.run(kafka.uri, mongo.uri, workdir, quick, log), machine_speed())
            repeated_on = {b.strip() for b in args.repeated_on.split(",")}
            if ("B2" in only or "B2R" in only) and "Tansu" in repeated_on:
                log("B2 repeated on Tansu: refunds piled on 300 orders, beside the floor and the direct way")
                speed = machine_speed()
                results += measured(b2_repeated.run(kafka.uri, mongo.uri, workdir, servers, log, "Tansu"), speed)
            if ("B2" in only or "B2R" in only) and "Apache Kafka" in repeated_on:
                log("B2 repeated on Apache Kafka, with the broker's own metrics")
                apache = ApacheKafka(workdir / "apache-kafka", log_path=workdir / "apache-kafka.log", metrics=True)
                with apache:
                    on_apache = {"database": mongo.pid, "broker": apache.pid}
                    speed = machine_speed()
                    rows = b2_repeated.run(
                        apache.uri, mongo.uri, workdir, on_apache, log, "Apache Kafka", apache.metrics_url
                    )
                    results += measured(rows, speed)
            if "B5" in only:
                log("B5 scaling: workers and processes")
                pids = {"database (SecantusDB)": mongo.pid, "broker (Tansu)": kafka.pid}
                n = 20_000 if quick else 100_000
                results += measured(b5_scaling.run(kafka.uri, mongo.uri, workdir, n, log, pids), machine_speed())
            if "B6" in only:
                log("B6 growth: 10,000 no-op refunds of one order")
                results += measured(b6_growth.run(kafka.uri, mongo.uri, workdir, log), machine_speed())
            if "B7" in only:
                log("B7 an idle minute")
                rows = b7_idle.run(kafka.uri, mongo.uri, workdir, kafka.pid, log)
                results += measured(rows, machine_speed())
            if "B4" in only:
                log("B4 memory")
                n = 100_000 if quick else 1_000_000
                results += measured(b4_memory.run(kafka.uri, mongo.uri, workdir, n, log), machine_speed())
    title = f"Order service benchmarks ({'quick' if quick else 'full'}, {os.cpu_count()} cores, Tansu + SecantusDB)"
    print()
    kind = "quick" if quick else "full"
    complete = only >= {"B1", "B2", "B4", "B5", "B7"}
    print(write_reports(results, OUT, title, copy_as=kind if complete else None))
    copies = f" and {kind}.*" if complete else ""
    print(f"written: {OUT}/latest.json, latest.md, latest.png{copies} ({time.perf_counter() - started:.0f}s)")
    missed = [r.name for r in results if r.met is False]
    if missed:
        print(f"targets missed: {', '.join(missed)}", file=sys.stderr)


if __name__ == "__main__":
    main()
