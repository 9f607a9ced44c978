"""What a dataflow process tells Prometheus, and whether it is alive.

Each process serves ``/metrics`` (Prometheus text) and ``/live`` on
``FLOW_METRICS_HOST:FLOW_METRICS_PORT`` (127.0.0.1 by default; no server when
the port is unset). ``ops.cluster`` gives process ``i`` the port
``FLOW_METRICS_PORT + i``.

``/live`` answers 200 while the process makes progress: an epoch closed or a
batch stored within ``FLOW_LIVENESS_S`` seconds. Bytewax's input closes an
epoch (and snapshots its partitions) only once the whole cluster has finished
the one before, busy or idle, so a process whose partitions close no epoch
for that long belongs to a stuck cluster: a peer lost behind a link that sent
no reset, or a store that does not answer. It answers 503 then; a process that
reads no input partition (more workers than partitions, or still forming its
cluster) is always live. The window must be longer than the snapshot interval.

Consumer lag is bytewax's own ``bytewax_kafka_consumer_lag`` gauge, fed by
librdkafka's statistics (``statistics.interval.ms``) through this project's
source; on Tansu the broker's end offset lags one batch behind, so lag reads a
little low there.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

from shared.config import Settings

log = logging.getLogger(__name__)

LAG_METRIC = "bytewax_kafka_consumer_lag"

COMMANDS = Counter(
    "order_flow_commands_total",
    "Commands stored, by kind and outcome (a replayed command counts again)",
    ["kind", "outcome"],
)
DEAD_LETTERS = Counter(
    "order_flow_dead_letters_total",
    "Messages sent to the dead-letter topic, by reason and the topic they came from",
    ["reason", "source"],
)
EVENTS = Counter("order_flow_events_total", "Messages published, by topic", ["topic"])
WRITE_SECONDS = Histogram(
    "order_flow_write_seconds",
    "Time to write one batch, by target (orders, records: Mongo; kafka)",
    ["target"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
BATCH_ORDERS = Histogram(
    "order_flow_batch_orders",
    "Orders written per batch",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
SNAPSHOTS = Counter("order_flow_snapshots_total", "Input partition snapshots taken (resume points)")
RESTARTS_ENV = "FLOW_SUPERVISOR_RESTARTS"  # set by ops.cluster for each process it starts
RESTARTS = Counter(
    "order_flow_supervisor_restarts_total",
    "Times this process's supervisor (ops.cluster) restarted its cluster before starting this process",
)
LAST_PROGRESS = Gauge(
    "order_flow_last_progress_timestamp_seconds", "When an epoch last closed or a batch was stored (Unix time)"
)


class Liveness:
    """Progress (an epoch closed, a batch stored) within ``window_s`` on a process that
    reads input partitions."""

    def __init__(self, window_s: float, lag: Callable[[], Iterable[float]], clock: Callable[[], float] = time.time):
        self.window_s = window_s
        self._lag = lag
        self._clock = clock
        self._last = clock()
        self._partitions = 0

    def reading(self) -> None:
        """One more input partition read here; the window starts with the first."""
        if self._partitions == 0:
            self._last = self._clock()
        self._partitions += 1

    def progressed(self) -> None:
        self._last = self._clock()
        LAST_PROGRESS.set(self._last)

    def check(self) -> tuple[bool, str]:
        if self._partitions == 0:
            return True, "no input partitions read here (yet)"
        waiting = sum(max(0.0, v) for v in self._lag())
        quiet = self._clock() - self._last
        if quiet < self.window_s:
            return True, f"progressing: last epoch or batch {quiet:.1f} s ago, {waiting:.0f} messages waiting"
        return False, (
            f"stalled: no epoch closed and nothing stored for {quiet:.1f} s ({waiting:.0f} messages waiting); "
            "the cluster is stuck (a peer lost, or a server not answering)"
        )


def consumer_lag() -> list[float]:
    """This process's lag per input partition, from bytewax's gauge."""
    return [s.value for m in REGISTRY.collect() if m.name == LAG_METRIC for s in m.samples]


_liveness = Liveness(60.0, consumer_lag)
_server_lock = threading.Lock()
_server: ThreadingHTTPServer | None = None


def liveness() -> Liveness:
    return _liveness


def record_batch(decided: Iterable[tuple[str, str]], orders: int, dead: Iterable[tuple[str, str]] = ()) -> None:
    """``decided``: (record label, outcome) of each command of the batch, the ``kind`` and
    ``outcome`` of ``order_flow_commands_total``; ``dead``: (reason, source topic) of each
    dead letter."""
    for label, outcome in decided:
        COMMANDS.labels(label, outcome).inc()
    for reason, source in dead:
        DEAD_LETTERS.labels(reason, source).inc()
    BATCH_ORDERS.observe(orders)
    _liveness.progressed()


def serve_configured(settings: Settings) -> None:
    """Start the server where the settings say; none when FLOW_METRICS_PORT is unset."""
    # The supervisor's count, carried over: each new process starts where the last one ended.
    RESTARTS.inc(int(os.environ.get(RESTARTS_ENV, "0") or 0))
    if settings.flow_metrics_port is not None:
        serve(settings.flow_metrics_host, settings.flow_metrics_port, settings.flow_liveness_s)


def serve(host: str, port: int, window_s: float) -> ThreadingHTTPServer | None:
    """Start this process's metrics server once (later calls return the same one)."""
    global _server
    with _server_lock:
        if _server is None:
            _liveness.window_s = window_s
            _server = ThreadingHTTPServer((host, port), _Handler)
            _server.daemon_threads = True
            threading.Thread(target=_server.serve_forever, name="flow-metrics", daemon=True).start()
            log.info("metrics on http://%s:%d/metrics, liveness on /live", host, port)
        return _server


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/metrics":
            self._send(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
        elif self.path == "/live":
            alive, why = _liveness.check()
            self._send(200 if alive else 503, (why + "\n").encode(), "text/plain; charset=utf-8")
        else:
            self._send(404, b"try /metrics or /live\n", "text/plain; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass
