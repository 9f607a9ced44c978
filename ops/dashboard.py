"""The Grafana dashboard for the dataflow and the API, and a picture of it from a real run.

    python -m ops.dashboard json > deploy/grafana/dashboards/order-service.json
    python -m ops.dashboard record --flow http://127.0.0.1:9464 --api http://127.0.0.1:8080 \\
        --seconds 120 --out samples.jsonl        # scrape /metrics every second
    python -m ops.dashboard picture samples.jsonl docs/dashboard.png

Each panel holds two forms of one query side by side: PromQL for Grafana, and the
same arithmetic on recorded scrapes for the picture (no Prometheus or Grafana
needed to draw it). Only their windows differ: Grafana's rates span 1 or 5 minutes,
the picture's 5 scrapes (5 s), so a two-minute recording shows its changes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Series = dict[str, list[tuple[float, float]]]  # legend -> (time, value)
Scrape = tuple[float, dict[tuple[str, tuple[tuple[str, str], ...]], float]]


@dataclass(frozen=True)
class Panel:
    title: str
    promql: str
    legend: str
    unit: str
    compute: Callable[[list[Scrape]], Series]


def _by(labels: tuple[tuple[str, str], ...], keys: tuple[str, ...]) -> str:
    found = dict(labels)
    return " ".join(found.get(k, "") for k in keys) or "all"


def gauge(name: str, by: tuple[str, ...]) -> Callable[[list[Scrape]], Series]:
    def compute(scrapes: list[Scrape]) -> Series:
        out: Series = defaultdict(list)
        for t, samples in scrapes:
            sums: dict[str, float] = defaultdict(float)
            for (n, labels), v in samples.items():
                if n == name:
                    sums[_by(labels, by)] += v
            for legend, v in sums.items():
                out[legend].append((t, v))
        return out

    return compute


def rate(name: str, by: tuple[str, ...], window: int = 5) -> Callable[[list[Scrape]], Series]:
    """Per-second increase over ``window`` scrapes, summed by ``by`` (a restart's reset counts as 0)."""

    def compute(scrapes: list[Scrape]) -> Series:
        out: Series = defaultdict(list)
        for i in range(window, len(scrapes)):
            (t0, old), (t1, new) = scrapes[i - window], scrapes[i]
            sums: dict[str, float] = defaultdict(float)
            for key, v in new.items():
                if key[0] == name:
                    sums[_by(key[1], by)] += max(0.0, v - old.get(key, 0.0)) / (t1 - t0)
            for legend, v in sums.items():
                out[legend].append((t1, v))
        return out

    return compute


def ratio(top: Callable[[list[Scrape]], Series], bottom: Callable[[list[Scrape]], Series], scale: float = 1.0):
    def compute(scrapes: list[Scrape]) -> Series:
        tops, bottoms = top(scrapes), bottom(scrapes)
        out: Series = {}
        for legend, points in tops.items():
            under = dict(bottoms.get(legend, []))
            out[legend] = [(t, scale * v / under[t]) for t, v in points if under.get(t)]
        return out

    return compute


def since(name: str, by: tuple[str, ...]) -> Callable[[list[Scrape]], Series]:
    """Seconds since the timestamp ``name`` holds, a line per ``by`` (one per process:
    a stalled process shows on its own, not hidden behind the others' newest stamp)."""

    def compute(scrapes: list[Scrape]) -> Series:
        out: Series = defaultdict(list)
        for t, samples in scrapes:
            for (n, labels), v in samples.items():
                if n == name and v > 0:
                    out[_by(labels, by)].append((t, t - v))
        return out

    return compute


def quantile(name: str, q: float, by: tuple[str, ...], window: int = 5, scale: float = 1.0, skip: tuple[str, ...] = ()):
    """``histogram_quantile(q, sum by (le, by) (rate(name_bucket[...])))``, as Prometheus
    reckons it: linear within the bucket the rank falls in, the highest finite bound past it.
    Legends starting with one of ``skip`` are left out (as a label matcher would)."""
    buckets = rate(f"{name}_bucket", (*by, "le"), window)

    def compute(scrapes: list[Scrape]) -> Series:
        grouped: dict[str, dict[float, list[tuple[float, float]]]] = defaultdict(dict)
        for legend, points in buckets(scrapes).items():
            *head, le = legend.split(" ")
            if skip and head and head[0].startswith(skip):
                continue
            grouped[" ".join(head) or "all"][float(le)] = points
        out: Series = {}
        for legend, by_le in grouped.items():
            times = sorted({t for points in by_le.values() for t, _ in points})
            rates = {le: dict(points) for le, points in by_le.items()}
            found = [(t, _quantile(q, [(le, rates[le].get(t, 0.0)) for le in sorted(rates)])) for t in times]
            out[legend] = [(t, scale * v) for t, v in found if v is not None]
        return out

    return compute


def _quantile(q: float, cumulative: list[tuple[float, float]]) -> float | None:
    total = cumulative[-1][1] if cumulative else 0.0
    if total <= 0:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for le, count in cumulative:
        if count >= rank:
            if le == float("inf"):
                return lower
            return lower + (le - lower) * (rank - below) / (count - below) if count > below else le
        lower, below = le, count
    return lower


PROBES = ("/health", "/metrics")
NOT_PROBES = 'route!~"/health.*|/metrics"'

PANELS = [
    Panel(
        "Consumer lag (messages waiting)",
        "sum by (topic) (bytewax_kafka_consumer_lag)",  # any scrape job's name: only the flow exports it
        "{{topic}}",
        "short",
        gauge("bytewax_kafka_consumer_lag", ("topic",)),
    ),
    Panel(
        "Commands stored per second",
        "sum by (kind, outcome) (rate(order_flow_commands_total[1m]))",
        "{{kind}} {{outcome}}",
        "ops",
        rate("order_flow_commands_total", ("kind", "outcome")),
    ),
    Panel(
        "Dead letters per second",
        "sum by (reason, source) (rate(order_flow_dead_letters_total[1m]))",
        "{{reason}} {{source}}",
        "ops",
        rate("order_flow_dead_letters_total", ("reason", "source")),
    ),
    Panel(
        "Batch write time, mean (ms)",
        "1000 * sum by (target) (rate(order_flow_write_seconds_sum[1m]))"
        " / sum by (target) (rate(order_flow_write_seconds_count[1m]))",
        "{{target}}",
        "ms",
        ratio(
            rate("order_flow_write_seconds_sum", ("target",)),
            rate("order_flow_write_seconds_count", ("target",)),
            1000,
        ),
    ),
    Panel(
        "Batch write time, p99 (ms)",
        "1000 * histogram_quantile(0.99, sum by (le, target) (rate(order_flow_write_seconds_bucket[5m])))",
        "{{target}}",
        "ms",
        quantile("order_flow_write_seconds", 0.99, ("target",), scale=1000),
    ),
    Panel(
        "Orders per batch, mean",
        "sum(rate(order_flow_batch_orders_sum[1m])) / sum(rate(order_flow_batch_orders_count[1m]))",
        "orders",
        "short",
        ratio(rate("order_flow_batch_orders_sum", ()), rate("order_flow_batch_orders_count", ())),
    ),
    Panel(
        "Seconds since each process stored a batch or closed an epoch",
        "time() - order_flow_last_progress_timestamp_seconds",
        "{{instance}}",
        "s",
        since("order_flow_last_progress_timestamp_seconds", ("instance",)),
    ),
    Panel(
        "Cluster restarts by the supervisor, per process (cumulative)",
        "max by (instance) (order_flow_supervisor_restarts_total)",
        "{{instance}}",
        "short",
        gauge("order_flow_supervisor_restarts_total", ("instance",)),
    ),
    Panel(
        "API requests per second, by status",
        "sum by (status) (rate(order_api_requests_total[1m]))",
        "{{status}}",
        "reqps",
        rate("order_api_requests_total", ("status",)),
    ),
    Panel(
        "API latency p99 by route (ms)",
        "1000 * histogram_quantile(0.99, sum by (le, route)"
        f" (rate(order_api_request_seconds_bucket{{{NOT_PROBES}}}[5m])))",
        "{{route}}",
        "ms",
        quantile("order_api_request_seconds", 0.99, ("route",), scale=1000, skip=PROBES),
    ),
    Panel(
        "Wait for a request's outcome, p99 (ms)",
        "1000 * histogram_quantile(0.99, sum by (le) (rate(order_api_outcome_wait_seconds_bucket[5m])))",
        "p99",
        "ms",
        quantile("order_api_outcome_wait_seconds", 0.99, (), scale=1000),
    ),
    Panel(
        "API answers 202 (no outcome in time) per second",
        "sum(rate(order_api_outcome_timeouts_total[1m]))",
        "202",
        "ops",
        rate("order_api_outcome_timeouts_total", ()),
    ),
    Panel(
        "API mutations refused per second, by defence",
        "sum by (reason) (rate(order_api_refused_total[1m]))",
        "{{reason}}",
        "ops",
        rate("order_api_refused_total", ("reason",)),
    ),
]


# Any Prometheus the importer picks: the dashboard names none of its own.
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def grafana_json() -> dict:
    panels = []
    for i, p in enumerate(PANELS):
        panels.append(
            {
                "id": i + 1,
                "type": "timeseries",
                "title": p.title,
                "datasource": DATASOURCE,
                "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i // 2)},
                "fieldConfig": {"defaults": {"unit": p.unit}, "overrides": []},
                "targets": [{"refId": "A", "expr": p.promql, "legendFormat": p.legend}],
            }
        )
    return {
        "uid": "order-service",
        "title": "Order service",
        "schemaVersion": 39,
        "time": {"from": "now-30m", "to": "now"},
        "refresh": "10s",
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                }
            ]
        },
        "panels": panels,
    }


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"{url}/metrics", timeout=3) as response:
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def record(urls: list[str], seconds: float, out: Path) -> None:
    """One line per second: the time and every sample of every URL (a URL that does not
    answer, a stopped process say, adds nothing that second)."""
    deadline = time.time() + seconds
    with out.open("w") as f:
        while time.time() < deadline:
            merged: dict = {}
            for url in urls:
                try:
                    for (name, labels), v in scrape(url).items():
                        key = (name, (*labels, ("instance", url)))
                        merged[key] = v
                except OSError:
                    pass
            f.write(json.dumps([time.time(), [[n, list(map(list, ls)), v] for (n, ls), v in merged.items()]]) + "\n")
            f.flush()
            print(f"\r{len(merged)} samples, {deadline - time.time():.0f} s left ", end="", file=sys.stderr)
            time.sleep(max(0.0, 1.0 - (time.time() % 1.0)))
    print(file=sys.stderr)


def load(path: Path) -> list[Scrape]:
    scrapes = []
    for line in path.read_text().splitlines():
        t, samples = json.loads(line)
        scrapes.append((t, {(n, tuple(tuple(x) for x in ls)): v for n, ls, v in samples}))
    return scrapes


def picture(scrapes: list[Scrape], out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    start = scrapes[0][0]
    rows = (len(PANELS) + 1) // 2
    fig, axes = plt.subplots(rows, 2, figsize=(14, 3.2 * rows), sharex=True)
    for ax, panel in zip(axes.flat, PANELS, strict=False):
        for legend, points in sorted(panel.compute(scrapes).items()):
            if points:
                ax.plot([t - start for t, _ in points], [v for _, v in points], label=legend, linewidth=1.4)
        ax.set_title(panel.title, fontsize=10)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7, loc="upper right")
    for ax in axes[-1]:
        ax.set_xlabel("seconds")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.dashboard", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("json", help="print the Grafana dashboard")
    rec = sub.add_parser("record", help="scrape /metrics every second into a file")
    rec.add_argument("--flow", action="append", default=[], help="a dataflow process's base URL (repeatable)")
    rec.add_argument("--api", action="append", default=[], help="an API's base URL (repeatable)")
    rec.add_argument("--seconds", type=float, default=120)
    rec.add_argument("--out", type=Path, required=True)
    pic = sub.add_parser("picture", help="draw the dashboard's panels from recorded scrapes")
    pic.add_argument("samples", type=Path)
    pic.add_argument("out", type=Path)
    pic.add_argument("--title", default="Order service, a real run (scraped every second)")
    args = parser.parse_args(argv)
    if args.command == "json":
        print(json.dumps(grafana_json(), indent=2))
    elif args.command == "record":
        record(args.flow + args.api, args.seconds, args.out)
    else:
        picture(load(args.samples), args.out, args.title)
    return 0


if __name__ == "__main__":
    sys.exit(main())
