"""One cluster on several hosts: each dataflow process on a test host of its own
(a network namespace), Kafka and Mongo on another, one supervisor per host.

Killing one host's process ends the cluster, and a link cut with no reset is
found by the liveness check; either way the supervisors' restarts lose and
double nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devkit.sandbox import Stack
from devkit.servers import ROOT, ApacheKafka, SecantusDB
from tests.integration.hosts import TestHosts, unavailable
from tests.integration.scenario import Scenario, build
from tests.integration.test_faults import assert_matches_core, settle
from tests.integration.test_rescale import assert_one_decision_per_event_id, feed

pytestmark = pytest.mark.apache_only  # its own broker and store on a test host: once per test run is enough

FLOWS = ("flow-0", "flow-1")
CLUSTER_PORT = 2101  # every host has its own addresses, so the same port on each
METRICS_PORT = 9464
LIVENESS_S = 6
RESTART_BOUND_S = 30  # a peer killed: the other process ends (and its supervisor logs it) within this
CHUNKS = 6
CUT_AFTER_FOUND_S = 10


@pytest.fixture(scope="module")
def hosts() -> Iterator[TestHosts]:
    reason = unavailable()
    if reason is not None:
        pytest.skip(f"no test hosts here: {reason}")
    with TestHosts(["store", *FLOWS]) as made:
        yield made


@pytest.fixture(scope="module")
def far_servers(hosts: TestHosts, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    root = tmp_path_factory.mktemp("store-host")
    where = {"host": hosts.address["store"], "netns": hosts.netns["store"]}
    kafka = ApacheKafka(root / "kafka", log_path=root / "kafka.log", **where)
    mongo = SecantusDB(root / "mongo", log_path=root / "secantus.log", **where)
    with kafka, mongo:
        yield kafka.uri, mongo.uri


@pytest.fixture
def far_stack(far_servers: tuple[str, str], tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(*far_servers, tmp_path / "stack")
    try:
        yield stack
    finally:
        stack.close()


class HostCluster:
    """One ``ops.cluster`` supervisor per flow host, all for one cluster and recovery store."""

    def __init__(self, hosts: TestHosts, stack: Stack, workdir: Path):
        self.hosts = hosts
        self.stack = stack
        self.workdir = workdir
        self.supervisors: dict[str, subprocess.Popen] = {}

    def start(self) -> HostCluster:
        addresses = ";".join(f"{self.hosts.address[h]}:{CLUSTER_PORT}" for h in FLOWS)
        for process_id, host in enumerate(FLOWS):
            command = [
                sys.executable, "-m", "ops.cluster", "--addresses", addresses, "--process-ids", str(process_id),
                "--recovery", str(self.workdir / "recovery"), "--snapshot-interval", "1",
                "--metrics-port", str(METRICS_PORT), "--liveness", str(LIVENESS_S),
                "--max-backoff", "2", "--log-dir", str(self.workdir / host),
            ]  # fmt: skip
            out = open(self.log_path(host), "ab")  # noqa: SIM115 (the child keeps it)
            self.supervisors[host] = subprocess.Popen(
                self.hosts.exec(host) + command,
                env=self.stack.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            out.close()
        return self

    def log_path(self, host: str) -> Path:
        return self.workdir / f"supervisor-{host}.log"

    def log(self, host: str) -> str:
        return self.log_path(host).read_text(errors="replace")

    def flow_process(self, host: str) -> int:
        """The dataflow process the host's supervisor runs now."""
        sup = self.supervisors[host].pid
        children = Path(f"/proc/{sup}/task/{sup}/children").read_text().split()
        assert len(children) == 1, f"{host}'s supervisor runs {children}"
        return int(children[0])

    def stop(self) -> None:
        for proc in self.supervisors.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.supervisors.values():
            try:
                proc.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def report(self) -> str:
        return "\n".join(f"--- {h}\n{self.log(h)[-2000:]}" for h in FLOWS)


def start_feeding(stack: Stack, scenario: Scenario) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []
    producer = threading.Thread(target=feed, args=(stack, scenario, CHUNKS, errors), daemon=True)
    producer.start()
    return producer, errors


def wait_for_log(cluster: HostCluster, host: str, text: str, since: int, timeout: float) -> float:
    """Seconds until ``text`` appears in the host's supervisor log after its first ``since`` characters."""
    started = time.monotonic()
    while text not in cluster.log(host)[since:]:
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{host}: no {text!r} within {timeout} s\n{cluster.report()}")
        time.sleep(0.2)
    return time.monotonic() - started


def finish(stack: Stack, scenario: Scenario, producer: threading.Thread, errors: list[BaseException]) -> None:
    producer.join(300)
    assert not errors, errors
    assert not producer.is_alive(), "the producer did not finish"
    settle(stack, scenario, timeout=240)


def through_a_fault(
    hosts: TestHosts, stack: Stack, workdir: Path, seed: int, fault: Callable[[HostCluster], float]
) -> float:
    """Feed a scenario through a cluster on the test hosts, break it mid-stream with
    ``fault`` (which returns how long the cluster took to notice), wait for every
    outcome, and check that nothing was lost or doubled."""
    scenario = build(240, seed=seed, prefix=f"h{seed}")
    cluster = HostCluster(hosts, stack, workdir).start()
    try:
        producer, errors = start_feeding(stack, scenario)
        stack.wait_for(lambda: stack.orders.estimated_document_count() >= 60, 180, "the first orders")
        took = fault(cluster)
        finish(stack, scenario, producer, errors)
    finally:
        cluster.stop()
    assert_matches_core(stack, scenario)
    assert_one_decision_per_event_id(stack, len(scenario.events))
    return took


def test_killing_one_hosts_process_restarts_the_cluster_and_loses_nothing(
    hosts: TestHosts, far_stack: Stack, tmp_path: Path
):
    def kill(cluster: HostCluster) -> float:
        before = len(cluster.log(FLOWS[0]))
        os.kill(cluster.flow_process(FLOWS[1]), signal.SIGKILL)
        return wait_for_log(cluster, FLOWS[0], "exited", before, RESTART_BOUND_S)

    assert through_a_fault(hosts, far_stack, tmp_path, 31, kill) < RESTART_BOUND_S


def test_a_cut_link_is_found_by_liveness_and_nothing_is_lost_after_it_returns(
    hosts: TestHosts, far_stack: Stack, tmp_path: Path
):
    def cut(cluster: HostCluster) -> float:
        before = len(cluster.log(FLOWS[0]))
        hosts.cut(FLOWS[1])
        try:
            took = wait_for_log(cluster, FLOWS[0], "is not live", before, LIVENESS_S + 20)
            time.sleep(CUT_AFTER_FOUND_S)  # the restarted processes meet the cut link too
        finally:
            hosts.mend(FLOWS[1])
        return took

    took = through_a_fault(hosts, far_stack, tmp_path, 32, cut)
    assert took < LIVENESS_S + 10, f"the stall was found after {took:.1f} s"
