"""The dataflow's CPU per order in two source trees, alternating, on one broker (Tansu,
or Apache Kafka) and one SecantusDB: for "did this change cost anything" where
whole-run figures are too noisy.

    python -m bench.paired_flow_cpu --trees /tmp/before,. --rounds 3 [--broker apache]

Each run preloads the same payments on fresh topics, starts the tree's flow
(``bytewax.run`` with that tree first on PYTHONPATH), waits for every order and
reads the flow process's CPU seconds (user + system, from /proc) before stopping
it. Bytewax's start is in every figure alike."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from devkit.samples import payment
from devkit.sandbox import Stack
from devkit.servers import ApacheKafka, SecantusDB, Tansu
from ops import children


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(tree: Path, stack: Stack, orders: int) -> tuple[float, float]:
    """(wall seconds, flow CPU seconds) to store ``orders`` preloaded payments."""
    env = {**stack.env, "PYTHONPATH": str(tree)}
    started = time.monotonic()
    command = [sys.executable, "-m", "bytewax.run", "dataflows.main:get_flow()"]
    proc = subprocess.Popen(command, env=env, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while stack.orders.estimated_document_count() < orders:
            if proc.poll() is not None:
                raise RuntimeError(f"the flow of {tree} exited with {proc.returncode}")
            time.sleep(0.05)
        return time.monotonic() - started, cpu_seconds(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.paired_flow_cpu",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--trees", required=True, help="two or more source trees, comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each running every tree once (default 3)")
    parser.add_argument("--orders", type=int, default=20_000, help="payments per run (default 20,000)")
    parser.add_argument("--broker", choices=("tansu", "apache"), default="tansu", help="the broker (default tansu)")
    args = parser.parse_args(argv)
    children.exit_on_sigterm()  # a killed run stops its servers, not only asks them to
    trees = [Path(t).resolve() for t in args.trees.split(",")]
    payments = [(f"p-{i}", payment(f"p-{i}")) for i in range(args.orders)]
    work = Path(tempfile.mkdtemp(prefix="paired-flow-cpu-"))
    broker = Tansu(log_path=work / "tansu.log") if args.broker == "tansu" else ApacheKafka(work / "kafka")
    with broker as kafka, SecantusDB(work / "mongo") as mongo:
        for r in range(args.rounds):
            for i, tree in enumerate(trees):
                stack = Stack(kafka.uri, mongo.uri, work / f"{r}-{i}")
                try:
                    stack.produce(stack.topics.payment_accepted.name, payments)
                    wall, cpu = one_run(tree, stack, args.orders)
                finally:
                    stack.close()
                print(f"round {r + 1} {tree}: {wall:.2f} s, flow {cpu:.2f} CPU-s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
