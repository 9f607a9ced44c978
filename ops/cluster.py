"""Run the dataflow as a cluster of processes, and keep it running.

    python -m ops.cluster --processes 2 --workers 2          # 2 processes x 2 workers on this host
    python -m ops.cluster --addresses "10.0.0.1:2101;10.0.0.2:2101" --process-ids 0   # on host 1
    python -m ops.cluster --addresses "10.0.0.1:2101;10.0.0.2:2101" --process-ids 1   # on host 2

Bytewax ends every process of a cluster when one of them dies, so the
supervisor treats the processes it runs as one unit: when any of them exits, it
stops the rest and starts them all again from the recovery store, waiting
longer after each quick failure (1 s, 2 s, 4 s ... up to --max-backoff). A
cluster that ran for --stable seconds starts again from 1 s. The same recovery
store serves any number of processes and workers (stop-start rescaling): stop
the cluster, start it with other counts.

On several hosts, run one supervisor per host, each with the same --addresses
and its own --process-ids; the recovery store must then be on storage every
host reaches (each worker writes its own recovery partitions).

In a Kubernetes StatefulSet (deploy/k8s), each pod runs one process:

    python -m ops.cluster --statefulset flow --processes 4      # in pod flow-2: process 2 of 4

the process id is the pod's ordinal (the end of its hostname) and the addresses
are the pods' names under the headless Service: flow-0.flow:2101;...;flow-3.flow:2101.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass, field
from pathlib import Path

from dataflows.flow_metrics import RESTARTS_ENV
from ops import children
from ops.recovery_store import has_partitions

log = logging.getLogger("ops.cluster")
CLUSTER_PORT = 2101  # where each process of a multi-host cluster listens for its peers


@dataclass(frozen=True)
class ClusterPlan:
    """Which processes of which cluster run here, and how."""

    addresses: tuple[str, ...]  # host:port of every process, in process-id order; () for one process
    local_ids: tuple[int, ...]  # the processes this supervisor runs
    workers: int
    recovery: Path
    snapshot_s: int = 5
    flow: str = "dataflows.main:get_flow()"
    one_host_each: bool = False  # a pod each (StatefulSet): every process serves metrics on the base port

    def metrics_port(self, base: int, process_id: int) -> int:
        """Process ``i`` serves its metrics on ``base + i`` (several on one host), or on
        ``base`` when each process has a host of its own."""
        return base if self.one_host_each else base + process_id

    def command(self, process_id: int) -> list[str]:
        cmd = [sys.executable, "-m", "bytewax.run", self.flow, "-w", str(self.workers)]
        if self.addresses:
            cmd += ["-i", str(process_id), "-a", ";".join(self.addresses)]
        return [*cmd, "-r", str(self.recovery), "-s", str(self.snapshot_s), "-b", "0"]


def free_port() -> int:
    """A port free on the loopback now (the kernel's pick)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def local_addresses(processes: int, free_port: Callable[[], int], avoid: Set[int] = frozenset()) -> tuple[str, ...]:
    """Loopback addresses on free ports, none in ``avoid`` (the metrics ports: the kernel
    hands out free ports in sequence, so a metrics base + 1 is a likely pick)."""
    ports: list[int] = []
    while len(ports) < processes:
        port = free_port()
        if port not in avoid and port not in ports:
            ports.append(port)
    return tuple(f"127.0.0.1:{p}" for p in ports)


@dataclass
class Backoff:
    """Seconds to wait before a restart: doubling after quick failures, reset after a stable run."""

    first: float = 1.0
    most: float = 30.0
    stable: float = 60.0
    _next: float = field(default=0.0, init=False)

    def after_run(self, ran_for: float) -> float:
        self._next = self.first if ran_for >= self.stable or self._next == 0 else min(self.most, self._next * 2)
        return self._next


class Supervisor:
    """Starts the plan's processes, restarts them all when one exits, stops them on request.

    ``tick()`` does one step of supervision; ``run()`` ticks until asked to stop, and
    ``make run`` ticks it beside the API."""

    def __init__(
        self,
        plan: ClusterPlan,
        env: Mapping[str, str],
        backoff: Backoff,
        log_dir: Path | None = None,
        max_restarts: int | None = None,
        liveness_s: float | None = None,
    ):
        """``liveness_s``: restart the cluster when a process's ``/live`` says stalled, or has
        not answered for this long (needs FLOW_METRICS_PORT in ``env``). It must be over
        twice the snapshot interval: an idle cluster closes one epoch per interval."""
        if liveness_s is not None and liveness_s <= 2 * plan.snapshot_s:
            raise ValueError(f"liveness {liveness_s} s must be over twice the snapshot interval ({plan.snapshot_s} s)")
        self.plan = plan
        self.env = dict(env)
        self.backoff = backoff
        self.log_dir = log_dir
        self.max_restarts = max_restarts
        self.procs: dict[int, subprocess.Popen] = {}
        self.restarts = 0
        self.gave_up = False
        self._started = 0.0
        self._restart_at: float | None = None
        self._stopping = False
        self.hurry = False
        self.liveness_s = liveness_s
        self._answered: dict[int, float] = {}
        self._next_check = 0.0

    def start(self) -> None:
        self._started = time.monotonic()
        self._answered = {pid: self._started for pid in self.plan.local_ids}
        if 0 in self.plan.local_ids and not has_partitions(self.plan.recovery):
            from bytewax.recovery import init_db_dir

            self.plan.recovery.mkdir(parents=True, exist_ok=True)
            init_db_dir(self.plan.recovery, recovery_partitions(self.plan))
            log.info("recovery store %s: made (%d partitions)", self.plan.recovery, recovery_partitions(self.plan))
        for pid in self.plan.local_ids:
            out = None
            if self.log_dir is not None:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                out = open(self.log_dir / f"flow-{pid}.log", "ab")  # noqa: SIM115 (the child keeps it)
            self.procs[pid] = children.start(
                self.plan.command(pid), env=self.env_of(pid), stdout=out, stderr=subprocess.STDOUT
            )
            if out is not None:
                out.close()
        log.info("started process(es) %s (os pids %s)", list(self.procs), [p.pid for p in self.procs.values()])

    def env_of(self, process_id: int) -> dict[str, str]:
        """Process ``i`` serves its metrics on FLOW_METRICS_PORT + i (``ClusterPlan.metrics_port``)."""
        base = self.env.get("FLOW_METRICS_PORT")
        port = None if not base else self.plan.metrics_port(int(base), process_id)
        env = {**self.env, RESTARTS_ENV: str(self.restarts)}  # the process counts them in its metrics
        return env if port is None else {**env, "FLOW_METRICS_PORT": str(port)}

    def metrics_urls(self) -> dict[int, str]:
        base = self.env.get("FLOW_METRICS_PORT")
        host = self.env.get("FLOW_METRICS_HOST", "127.0.0.1")
        if not base:
            return {}
        return {i: f"http://{host}:{self.plan.metrics_port(int(base), i)}" for i in self.plan.local_ids}

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to every process group, then SIGKILL to those still there after
        ``grace``, or at once once asked to stop twice."""
        children.stop_all(list(self.procs.values()), grace, hurry=lambda: self.hurry)

    def exited(self) -> dict[int, int]:
        """Process id -> exit code, for the local processes that have ended."""
        return {pid: proc.returncode for pid, proc in self.procs.items() if proc.poll() is not None}

    def tick(self) -> None:
        """Start the cluster again when its wait is over; when a process has exited,
        stop the others and schedule the restart."""
        now = time.monotonic()
        if self._restart_at is not None:
            if now >= self._restart_at:
                self._restart_at = None
                self.start()
            return
        ended = self.exited() or self._stalled(now)
        if not ended:
            return
        self.stop()
        if self.max_restarts is not None and self.restarts >= self.max_restarts:
            log.error("process(es) %s exited (codes %s); no restarts left", list(ended), ended)
            self.gave_up = True
            return
        wait = self.backoff.after_run(now - self._started)
        self.restarts += 1
        log.warning("process(es) %s exited (codes %s); restart %d in %.0f s", list(ended), ended, self.restarts, wait)
        self._restart_at = now + wait

    def _stalled(self, now: float) -> dict[int, int]:
        """Processes whose ``/live`` says stalled or has been silent for ``liveness_s``
        (code -1 in what ``tick`` logs)."""
        urls = self.metrics_urls()
        if self.liveness_s is None or not urls or now < self._next_check:
            return {}
        self._next_check = now + min(2.0, self.liveness_s / 4)
        stalled = {}
        for pid, url in urls.items():
            verdict = _ask_live(url)
            if verdict is not None:
                self._answered[pid] = now
            if verdict is False or now - self._answered.get(pid, now) > self.liveness_s:
                log.warning("process %d is not live (%s)", pid, "stalled" if verdict is False else "no answer")
                stalled[pid] = -1
        return stalled

    def request_stop(self) -> None:
        """The first request stops the run; another one hurries the stop (SIGKILL)."""
        if self._stopping:
            self.hurry = True
        self._stopping = True

    def run(self, poll_s: float = 0.2) -> int:
        """Until asked to stop (0) or out of restarts (1)."""
        self.start()
        try:
            while not self._stopping and not self.gave_up:
                self.tick()
                time.sleep(poll_s)
        finally:
            self.stop()
        return 1 if self.gave_up else 0


def _ask_live(url: str) -> bool | None:
    """True when ``/live`` says 200, False on 503, None when it does not answer."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/live", timeout=1.0) as response:
            return response.status == 200
    except urllib.error.HTTPError as exc:
        return False if exc.code == 503 else None
    except OSError:
        return None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ops.cluster", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-p", "--processes", type=int, default=1, help="processes on this host (default 1)")
    parser.add_argument("-w", "--workers", type=int, default=1, help="workers per process (default 1)")
    parser.add_argument("--addresses", help='every process\'s host:port, ";"-separated (default: loopback, free ports)')
    parser.add_argument("--process-ids", help="with --addresses: the process ids to run here, comma-separated")
    parser.add_argument(
        "--statefulset",
        metavar="SERVICE",
        help="in a StatefulSet's pod: one process, its id the pod's ordinal, addresses POD-i.SERVICE (--processes)",
    )
    parser.add_argument(
        "--cluster-port", type=int, default=CLUSTER_PORT, help=f"with --statefulset (default {CLUSTER_PORT})"
    )
    parser.add_argument("--recovery", type=Path, help="recovery store (default RECOVERY_DIR or .data/recovery)")
    parser.add_argument("--snapshot-interval", type=int, default=5, help="seconds between snapshots (default 5)")
    parser.add_argument("--max-backoff", type=float, default=30.0, help="longest wait between restarts (default 30 s)")
    parser.add_argument("--stable", type=float, default=60.0, help="a run this long resets the back-off (default 60 s)")
    parser.add_argument("--log-dir", type=Path, help="write each process's output to LOG_DIR/flow-<id>.log")
    parser.add_argument(
        "--metrics-port",
        type=int,
        help="process i serves /metrics and /live on this port + i (default FLOW_METRICS_PORT; none when unset)",
    )
    parser.add_argument(
        "--liveness",
        type=float,
        help="restart all when a process is stalled or silent this many seconds (default FLOW_LIVENESS_S, 60)",
    )
    return parser.parse_args(argv)


def statefulset_plan(hostname: str, service: str, processes: int, port: int) -> tuple[tuple[str, ...], int]:
    """The cluster's addresses and this pod's process id, from its hostname (``flow-2``)."""
    base, _, ordinal = hostname.rpartition("-")
    if not base or not ordinal.isdigit():
        raise SystemExit(f"--statefulset: the hostname {hostname!r} is not a StatefulSet pod's (NAME-ORDINAL)")
    if int(ordinal) >= processes:
        raise SystemExit(f"--statefulset: pod {hostname} has no place in a cluster of {processes} processes")
    return tuple(f"{base}-{i}.{service}:{port}" for i in range(processes)), int(ordinal)


def plan_from_args(args: argparse.Namespace, recovery: Path) -> ClusterPlan:
    if args.statefulset:
        addresses, ordinal = statefulset_plan(socket.gethostname(), args.statefulset, args.processes, args.cluster_port)
        return ClusterPlan(addresses, (ordinal,), args.workers, recovery, args.snapshot_interval, one_host_each=True)
    if args.addresses:
        addresses = tuple(a.strip() for a in args.addresses.split(";") if a.strip())
        ids = range(len(addresses)) if not args.process_ids else (int(i) for i in args.process_ids.split(","))
        local = tuple(ids)
        if any(not 0 <= i < len(addresses) for i in local):
            raise SystemExit(f"--process-ids must be between 0 and {len(addresses) - 1}")
    else:
        addresses = local_addresses(args.processes, free_port) if args.processes > 1 else ()
        local = tuple(range(args.processes))
    return ClusterPlan(addresses, local, args.workers, recovery, args.snapshot_interval)


def main(argv: list[str] | None = None) -> int:
    from shared.config import settings_or_exit
    from shared.logs import configure_logging

    args = parse_args(argv)
    settings = settings_or_exit()
    configure_logging("supervisor", settings.log_format, settings.log_level)
    recovery = (args.recovery or settings.recovery_dir or settings.data_dir / "recovery").resolve()
    plan = plan_from_args(args, recovery)
    if 0 not in plan.local_ids and not _wait_for_store(recovery, 120):
        log.error("no recovery store in %s after 120 s (process 0's supervisor makes it)", recovery)
        return 1
    env = dict(os.environ)
    if args.metrics_port is not None:
        env["FLOW_METRICS_PORT"] = str(args.metrics_port)
    liveness = settings.flow_liveness_s if args.liveness is None else args.liveness
    env["FLOW_LIVENESS_S"] = str(liveness)
    backoff = Backoff(most=args.max_backoff, stable=args.stable)
    try:
        supervisor = Supervisor(plan, env, backoff, args.log_dir, liveness_s=liveness)
    except ValueError as exc:
        raise SystemExit(f"--liveness: {exc}") from None
    for pid, url in supervisor.metrics_urls().items():
        log.info("process %d: %s/metrics, %s/live", pid, url, url)
    signal.signal(signal.SIGTERM, lambda *_: supervisor.request_stop())
    signal.signal(signal.SIGINT, lambda *_: supervisor.request_stop())
    log.info("cluster %s, here %s, %d worker(s) each", ";".join(plan.addresses), list(plan.local_ids), plan.workers)
    return supervisor.run()


def _wait_for_store(recovery: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not has_partitions(recovery):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def recovery_partitions(plan: ClusterPlan) -> int:
    """Fixed when the store is made, whatever the cluster later grows to: one per worker of
    this cluster, at least 4, so a later, larger cluster still spreads its snapshot writes."""
    return max(4, max(1, len(plan.addresses)) * plan.workers)


if __name__ == "__main__":
    sys.exit(main())
