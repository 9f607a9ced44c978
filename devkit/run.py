"""Run the whole system locally: ``make run``.

With KAFKA_URI / MONGO_URI unset it starts embedded servers first (a broker:
Apache Kafka in KRaft mode, its data kept in ``kafka/``, or with ``--broker
tansu`` Tansu, memory only; SecantusDB, a MongoDB-compatible server) with their
data under ORDER_DATA_DIR (default ``.data``). It creates the topics
and indexes, then runs the dataflow with recovery until Ctrl-C, and stops
everything cleanly.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TypeVar

from devkit.servers import Server, free_port
from ops import children
from ops.cluster import Backoff, ClusterPlan, Supervisor, local_addresses, recovery_partitions
from ops.private_files import write_private
from ops.recovery_store import ready_store
from shared.config import Settings, jwt_secret_problem, settings_or_exit
from shared.kafka_config import refusals
from shared.logs import configure_logging
from shared.topics import names

log = logging.getLogger("devkit.run")
DEFAULT_METRICS_PORT = 9464  # the dataflow's first process; process i uses this + i
# A stop ends within 15 s: the dataflow and the API together, then each embedded server.
CHILD_GRACE_S = 8.0
SERVER_GRACE_S = 3.0

EXAMPLES = """
Try it, in another terminal:
  make produce N=10                      # sample payments, spread over user-0..user-2
  TOKEN=$(cat {data}/user-token)         # a day-long token for user-1 ({data}/admin-token: an admin)
  curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:{port}/api/order/find/user-1?limit=2"
  ORDER=$(curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:{port}/api/order/find/user-1?limit=1" \\
          | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["_id"])')
  curl -s -X POST -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:{port}/api/order/$ORDER/refund"
"""


S = TypeVar("S", bound=Server)


def _port_or_free(preferred: int) -> int:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            return free_port()
    return preferred


class Stop:
    """SIGINT and SIGTERM: the first stops the run (KeyboardInterrupt where it is);
    any later one, or one during the stop, only hurries it (SIGKILL, no grace), so a
    second Ctrl-C never cuts the stop short and leaves processes behind."""

    def __init__(self) -> None:
        self.stopping = False
        self.hurry = False

    def install(self) -> None:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def begin(self) -> None:
        """From here on a signal hurries the stop instead of interrupting it."""
        self.stopping = True

    def _on_signal(self, signum: int, frame: object) -> None:
        if self.stopping:
            self.hurry = True
            return
        self.stopping = True
        raise KeyboardInterrupt


BROKERS = ("tansu", "kafka")
RUN_ENV = "run.env"  # in the data folder while a run runs: the servers it uses


def endpoints(data: Path) -> dict[str, str]:
    """KAFKA_URI and MONGO_URI of the run whose data folder is ``data``."""
    lines = (data / RUN_ENV).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def start_servers(stack: ExitStack, settings: Settings, data: Path, stop: Stop, broker: str) -> tuple[str, str, bool]:
    """KAFKA_URI and MONGO_URI, starting embedded servers for the unset ones; and whether
    the broker forgets its topics when it stops (an embedded Tansu)."""
    from devkit.servers import ApacheKafka, SecantusDB, Tansu

    def started(server: S) -> S:
        server.start()
        stack.callback(lambda: server.stop(kill=stop.hurry, grace=SERVER_GRACE_S))
        return server

    kafka_uri, mongo_uri, forgetful = settings.kafka_uri, settings.mongo_uri, False
    logs = data / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    if not kafka_uri and broker == "kafka":
        at = data / "kafka"
        apache = ApacheKafka(at, _port_or_free(9092), logs / "kafka.log", controller_port=_port_or_free(9093))
        kafka_uri = started(apache).uri
        print(f"  kafka (embedded Apache)     {kafka_uri}  (KRaft, data in {at})")
    elif not kafka_uri:
        tansu = started(Tansu(_port_or_free(9092), log_path=logs / "tansu.log"))
        kafka_uri, forgetful = tansu.uri, True
        print(f"  kafka (embedded Tansu)      {kafka_uri}")
    if not mongo_uri:
        mongo = started(SecantusDB(data / "mongo", _port_or_free(27017), log_path=logs / "secantusdb.log"))
        mongo_uri = mongo.uri
        print(f"  mongo (embedded SecantusDB) {mongo_uri}")
    return kafka_uri, mongo_uri, forgetful


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-p", "--processes", type=int, default=1, help="dataflow processes (default 1)")
    parser.add_argument("-w", "--workers", type=int, default=1, help="workers per dataflow process (default 1)")
    parser.add_argument("--snapshot-interval", type=int, default=5, help="recovery snapshot seconds (default 5)")
    parser.add_argument("--no-dataflow", action="store_true", help="start servers and topics only, no dataflow or API")
    parser.add_argument(
        "--broker",
        choices=BROKERS,
        default=os.environ.get("BROKER") or "kafka",
        help="the embedded broker when KAFKA_URI is unset: kafka (Apache Kafka, KRaft, topics and offsets kept "
        "in ORDER_DATA_DIR/kafka; the default) or tansu (memory only, starts in 2-3 s); env BROKER",
    )
    args = parser.parse_args(argv)
    settings = settings_or_exit()
    configure_logging("run", settings.log_format, settings.log_level)

    stop = Stop()
    stop.install()  # stop as cleanly on SIGTERM as on Ctrl-C
    try:
        return _run(args, stop)
    except KeyboardInterrupt:
        print("\nStopped.")
        return 0


def _run(args: argparse.Namespace, stop: Stop) -> int:
    settings = settings_or_exit()  # again: a stale .env is read after the logging is set
    problem = jwt_secret_problem(settings.jwt_secret) if settings.jwt_secret else None
    if problem is not None:
        raise SystemExit(f"refusing to start: {problem} (or leave it unset: make run makes a random one)")
    data = settings.data_dir.resolve()
    print("Order service, local run")
    with ExitStack() as stack:
        try:
            with refusals():
                return _run_on(stack, args, stop, settings, data)
        finally:
            stop.begin()  # before the servers stop: from here on a signal only hurries the stop


def _run_on(stack: ExitStack, args: argparse.Namespace, stop: Stop, settings: Settings, data: Path) -> int:
    """Servers, topics and recovery store, then the dataflow and the API until stopped."""
    kafka_uri, mongo_uri, forgetful = start_servers(stack, settings, data, stop, args.broker)
    env = {**os.environ, "KAFKA_URI": kafka_uri, "MONGO_URI": mongo_uri}
    env.setdefault("FLOW_METRICS_PORT", str(_port_or_free(DEFAULT_METRICS_PORT)))
    settings = settings_or_exit(env)
    setup(settings)
    recovery = (settings.recovery_dir or data / "recovery").resolve()
    topics = settings.topics
    metrics = int(env["FLOW_METRICS_PORT"])
    plan = ClusterPlan(
        local_addresses(args.processes, free_port, set(range(metrics, metrics + args.processes)))
        if args.processes > 1
        else (),
        tuple(range(args.processes)),
        args.workers,
        recovery,
        args.snapshot_interval,
    )
    done = ready_store(recovery, recovery_partitions(plan), settings.kafka, names(topics.inputs), fresh=forgetful)
    print(f"  recovery store              {recovery}: {done}")
    written = data / RUN_ENV
    write_private(written, f"KAFKA_URI={kafka_uri}\nMONGO_URI={mongo_uri}\n")
    stack.callback(written.unlink, missing_ok=True)
    print(f"  endpoints written to        {written}")
    if not settings.jwt_secret:
        env["JWT_SEC"] = secrets.token_hex(32)
        print("  JWT_SEC                     unset: a random development secret for this run")
    print(dev_tokens(env["JWT_SEC"], data, settings.port))
    if args.no_dataflow:
        return _wait_forever()
    return run_services(env, plan, settings.port, data / "logs", settings.flow_liveness_s, stop)


def setup(settings: Settings) -> None:
    from dataflows.setup import prepare

    created = prepare(settings)
    print(f"  topics                      {len(settings.topics.all)} ready ({len(created)} created)")


API_SETTLE_S = 10.0  # an API that exits sooner after its start is not restarted: make run stops, saying so


class RestartedApi:
    """The API process, restarted when it dies (with ``Backoff``), unless it dies
    within ``API_SETTLE_S`` of a start: that is a bad setting or a port taken, which
    a restart would only repeat."""

    def __init__(self, command: list[str], env: dict[str, str]):
        self._command, self._env = command, env
        self._backoff = Backoff()
        self._restart_at = 0.0
        self._start()

    def _start(self) -> None:
        self.proc = children.start(self._command, env=self._env)
        self._started = time.monotonic()

    def tick(self) -> int | None:
        """None while it runs or waits to restart; an exit code when make run must stop."""
        now = time.monotonic()
        if self._restart_at:
            if now >= self._restart_at:
                self._restart_at = 0.0
                self._start()
            return None
        code = self.proc.poll()
        if code is None:
            return None
        if now - self._started < API_SETTLE_S:
            print(f"\napi exited with {code} at its start; stopping")
            return code or 1
        self._restart_at = now + self._backoff.after_run(now - self._started)
        print(f"\napi exited with {code}; restarting it in {self._restart_at - now:.0f} s")
        return None


def run_services(env: dict[str, str], plan: ClusterPlan, port: int, logs: Path, liveness_s: float, stop: Stop) -> int:
    """The dataflow's processes (supervised: restarted together when one exits) and
    the API (restarted when it dies, with the same backoff), until Ctrl-C, or until
    the API exits within ``API_SETTLE_S`` of its start."""
    supervisor = Supervisor(
        plan, env, Backoff(), log_dir=logs if len(plan.local_ids) > 1 else None, liveness_s=liveness_s
    )
    api = [sys.executable, "-m", "http_api", "--port", str(port)]
    where = f", output in {logs}/flow-<id>.log" if len(plan.local_ids) > 1 else ""
    print(f"  dataflow                    {len(plan.local_ids)} process(es) x {plan.workers} worker(s){where}")
    print(f"                              {' '.join(plan.command(0)[2:])}")
    for pid, url in supervisor.metrics_urls().items():
        print(f"  dataflow process {pid} metrics  {url}/metrics  (liveness: {url}/live)")
    print(f"  api                         http://127.0.0.1:{port}/api/order  (openapi.json there too)")
    print(f"  api metrics                 http://127.0.0.1:{port}/metrics")
    api_proc: RestartedApi | None = None
    try:
        supervisor.start()
        api_proc = RestartedApi(api, env)
        print("\nRunning; Ctrl-C stops everything. A process that dies is restarted (the dataflow's together).")
        while (code := api_proc.tick()) is None:
            supervisor.tick()
            time.sleep(0.5)
        return code
    except KeyboardInterrupt:
        print("\nStopping ...")
        return 0
    finally:
        stop.begin()
        # All at once, the dataflow (safe: recovery resumes from the last snapshot) and the API.
        procs = [*supervisor.procs.values(), *([api_proc.proc] if api_proc is not None else [])]
        children.stop_all(procs, CHILD_GRACE_S, hurry=lambda: stop.hurry)


def dev_tokens(secret: str, data: Path, port: int) -> str:
    """Tokens for a sample user and an admin, written where the README's curl lines read them."""
    from http_api.auth import issue_token

    write_private(data / "user-token", issue_token(secret, "user-1", []))
    write_private(data / "admin-token", issue_token(secret, "admin-1", ["admin"]))
    return EXAMPLES.format(port=port, data=data)


def _wait_forever() -> int:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
