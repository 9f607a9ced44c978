"""B5: throughput as the dataflow grows: 1, 2 and 4 workers in one process, and 2
processes, each preloaded and live, beside the 1-worker figures of the same run;
the cores each shape keeps busy (each dataflow process, the database, the broker:
whether the machine's cores bound it); and what one order costs each process
(CPU-ms of the dataflow, the database and the broker during the 1-worker
preloaded run), the figures the sizing model in docs/operations.md rests on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.b1_throughput import payments, preload, time_flow, time_live
from bench.results import Result
from devkit.sandbox import Stack

SHAPES = [(1, 1), (1, 2), (1, 4), (2, 1)]  # (processes, workers per process)


def name(processes: int, workers: int) -> str:
    return f"{workers} worker{'s' if workers > 1 else ''}" if processes == 1 else f"{processes} processes x {workers}"


def run(kafka_uri: str, mongo_uri: str, workdir: Path, n: int, log, server_pids: dict[str, int]) -> list[Result]:
    """``server_pids``: the database's and the broker's process ids, by name."""
    preloaded: dict[tuple[int, int], float] = {}
    live: dict[tuple[int, int], float] = {}
    cpu: dict[tuple[int, int], dict[str, Any]] = {}
    for processes, workers in SHAPES:
        tag = f"b5-{processes}x{workers}"
        stack = Stack(kafka_uri, mongo_uri, workdir / tag)
        try:
            preload(stack, payments(n, tag))
            cpu[(processes, workers)] = measured = dict(server_pids)
            preloaded[(processes, workers)] = time_flow(stack, n, processes, log, workers, measured)
            log(f"    cores busy: {_busy(measured, n / preloaded[(processes, workers)])}")
        finally:
            stack.close()
        stack = Stack(kafka_uri, mongo_uri, workdir / f"{tag}-live")
        try:
            live[(processes, workers)] = time_live(stack, payments(n, f"{tag}-live"), log, processes, workers)
        finally:
            stack.close()
    results = []
    for shape in SHAPES[1:]:
        label = name(*shape)
        results += [
            Result(f"B5 preloaded, {label} vs 1 worker", preloaded[shape], "orders/s", preloaded[(1, 1)], ""),
            Result(f"B5 live, {label} vs 1 worker", live[shape], "orders/s", live[(1, 1)], ""),
        ]
    for shape in SHAPES:
        elapsed = n / preloaded[shape]
        busy = sum(v for k, v in cpu[shape].items() if not k.startswith("flow-")) / elapsed
        results.append(Result(f"B5 preloaded, {name(*shape)}: cores busy", busy, "cores", None, "",
                              _busy(cpu[shape], elapsed)))  # fmt: skip
    note = f"{n} preloaded payments, 1 worker, from the first order announced to the last"
    for who, seconds in cpu[(1, 1)].items():
        if not who.startswith("flow-"):
            results.append(Result(f"B5 {who} CPU per order", 1000 * seconds / n, "CPU-ms", None, "", note=note))
    return results


def _busy(cpu: dict[str, Any], elapsed: float) -> str:
    """Cores each process kept busy: the dataflow's processes one by one, then the servers."""
    return ", ".join(f"{who} {seconds / elapsed:.2f}" for who, seconds in cpu.items() if who != "dataflow")
