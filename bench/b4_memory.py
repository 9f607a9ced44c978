"""B4: the dataflow's memory while many orders pass, with idle orders evicted."""

from __future__ import annotations

import os
import time
from pathlib import Path

from bench.b1_throughput import EventCount, payments, preload
from bench.results import Result
from devkit.sandbox import Stack

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (bytewax.run is one process)."""
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def run(kafka_uri: str, mongo_uri: str, workdir: Path, n: int, log) -> list[Result]:
    stack = Stack(kafka_uri, mongo_uri, workdir / "b4")
    stack.env["ORDER_STATE_IDLE_SECONDS"] = "5"
    try:
        log(f"  B4: preloading {n} payments")
        for start in range(0, n, 100_000):
            preload(stack, payments(min(100_000, n - start), f"b4-{start}"))
        flow = stack.start_flow()
        emitted = EventCount(stack)
        samples: list[tuple[int, float]] = []
        while True:
            done = emitted()
            samples.append((done, rss_mb(flow.pid)))
            if done >= n:
                break
            if flow.poll() is not None:
                raise RuntimeError(f"the dataflow exited\n{stack.flow_log()}")
            if len(samples) % 30 == 0:
                log(f"    B4: {done} of {n} orders, RSS {samples[-1][1]:.0f} MB")
            time.sleep(1)
        emitted.close()
        warm = [rss for done, rss in samples if n * 0.2 <= done <= n * 0.4] or [samples[len(samples) // 3][1]]
        late = [rss for done, rss in samples if done >= n * 0.8] or [samples[-1][1]]
        log(f"    B4: RSS after warm-up {max(warm):.0f} MB, at the end {max(late):.0f} MB ({len(samples)} samples)")
        return [
            Result(
                "B4 dataflow RSS, last fifth vs after warm-up",
                max(late),
                "MB",
                max(warm),
                "ratio <= 1.2",
                f"{n} orders, idle orders evicted after 5 s; baseline: max RSS at 20-40% of the orders",
            )
        ]
    finally:
        stack.close()
