"""Each dataflow process's /metrics and /live, read over HTTP from a running flow."""

from __future__ import annotations

import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

from devkit.sandbox import Stack
from devkit.servers import free_port, free_port_run
from ops.cluster import Backoff, ClusterPlan, Supervisor, local_addresses
from ops.dashboard import scrape as scrape_url
from tests.flowkit import payment


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    return scrape_url(f"http://127.0.0.1:{port}")


def total(samples: dict[tuple[str, tuple], float], name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


def lag(port: int) -> float | None:
    try:
        return total(scrape(port), "bytewax_kafka_consumer_lag")
    except OSError:
        return None  # not serving yet


def payments(stack: Stack, prefix: str, n: int) -> None:
    stack.produce(stack.topics.payment_accepted.name, [(f"{prefix}-{i}", payment(f"{prefix}-{i}")) for i in range(n)])


def test_lag_rises_while_the_flow_is_stopped_and_falls_after(stack: Stack, tmp_path: Path):
    port = free_port()
    stack.env["FLOW_METRICS_PORT"] = str(port)
    recovery = tmp_path / "recovery"
    flow = stack.start_flow(recovery=recovery)
    payments(stack, "early", 200)
    stack.wait_for(lambda: stack.orders.count_documents({}) == 200, 120, "the first orders")
    stack.wait_for(lambda: lag(port) == 0, 30, "lag 0 while nothing waits")
    time.sleep(1.5)  # a snapshot past the first orders
    stack.kill_flow(flow, signal.SIGTERM)
    payments(stack, "backlog", 20_000)
    stack.start_flow(recovery=recovery)
    seen: list[float] = []

    def caught_up() -> bool:
        value = lag(port)
        if value is not None:
            seen.append(value)
        return value == 0 and stack.orders.estimated_document_count() == 20_200

    stack.wait_for(caught_up, 240, "the backlog", interval=0.25)
    assert max(seen) >= 1_000, f"lag never showed the backlog: {seen[:20]}"
    counted = total(scrape(port), "order_flow_commands_total", kind="payment", outcome="applied")
    assert counted >= 20_000


def test_live_is_200_while_idle(stack: Stack):
    port = free_port()
    stack.env["FLOW_METRICS_PORT"] = str(port)
    stack.start_flow()
    payments(stack, "idle", 10)
    stack.wait_for(lambda: stack.orders.count_documents({}) == 10, 120, "the orders")
    stack.wait_for(lambda: lag(port) == 0, 30, "lag 0")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/live", timeout=5) as response:
        assert response.status == 200


def test_a_stalled_process_gets_the_cluster_restarted_and_nothing_is_lost(stack: Stack, tmp_path: Path):
    base = free_port_run(2)
    addresses = local_addresses(2, free_port, avoid={base, base + 1})
    env = {**stack.env, "FLOW_METRICS_PORT": str(base), "FLOW_LIVENESS_S": "5"}
    plan = ClusterPlan(addresses, (0, 1), 1, tmp_path / "recovery", snapshot_s=1)
    supervisor = Supervisor(plan, env, Backoff(first=0.2), log_dir=tmp_path / "logs", liveness_s=5)
    supervisor.start()
    try:
        payments(stack, "before", 200)
        stack.wait_for(lambda: _ticked(supervisor) and stack.orders.count_documents({}) == 200, 120, "orders")
        frozen = supervisor.procs[1]
        frozen.send_signal(signal.SIGSTOP)  # alive to the OS, silent to its peer and to /live
        payments(stack, "during", 200)
        started = time.monotonic()
        stack.wait_for(lambda: _ticked(supervisor) and supervisor.restarts == 1, 60, "a restart")
        assert time.monotonic() - started < 30
        stack.wait_for(lambda: _ticked(supervisor) and stack.orders.count_documents({}) == 400, 120, "orders")
    finally:
        supervisor.stop()
    assert stack.orders.count_documents({}) == 400


def _ticked(supervisor: Supervisor) -> bool:
    supervisor.tick()
    return True
