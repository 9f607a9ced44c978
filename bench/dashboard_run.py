"""Traffic for the dashboard picture in docs/operations.md, against a running ``make run``.

    make run PROCESSES=2                                   # in one terminal (FLOW_LIVENESS_S=15 helps)
    .venv/bin/python -m bench.dashboard_run --out docs/dashboard.png

Records every process's /metrics once a second while it: produces 2,000
payments, refunds through the API at 40/s, sends a few bad messages (dead
letters), kills one dataflow process with -9 (the supervisor restarts both),
and produces a 20,000-payment burst (lag rises, then falls). Then draws the
dashboard's panels from the recording.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiohttp

from bench.b1_throughput import payments, produce_all
from devkit.run import endpoints
from ops import dashboard
from shared.ids import order_id_for_payment


async def refunds(api: str, token: str, order_ids: list[str], rate: float, seconds: float) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session:
        start = time.monotonic()

        async def one(i: int) -> None:
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            url = f"{api}/api/order/{order_ids[i % len(order_ids)]}/refund-product"
            async with session.post(url, json={"productId": "apple", "quantity": 1}, headers=headers) as response:
                await response.read()

        await asyncio.gather(*(one(i) for i in range(int(rate * seconds))), return_exceptions=True)


def flow_pids() -> list[int]:
    out = subprocess.run(["pgrep", "-f", "bytewax.run dataflows.main"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("ORDER_DATA_DIR", ".data")))
    parser.add_argument("--api", default="http://127.0.0.1:8080")
    parser.add_argument("--flow", action="append", default=None, help="default :9464 and :9465")
    parser.add_argument("--seconds", type=float, default=100)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    env = endpoints(args.data)
    kafka, token = env["KAFKA_URI"], (args.data / "admin-token").read_text().strip()
    flows = args.flow or ["http://127.0.0.1:9464", "http://127.0.0.1:9465"]
    samples = Path(tempfile.gettempdir()) / "order-dashboard-samples.jsonl"
    recorder = threading.Thread(target=dashboard.record, args=([*flows, args.api], args.seconds, samples))
    recorder.start()
    time.sleep(5)
    first = payments(2_000, "dash")
    produce_all(kafka, "payment-accepted", first)
    time.sleep(5)
    ids = [order_id_for_payment(key) for key, _ in first]
    traffic = threading.Thread(target=lambda: asyncio.run(refunds(args.api, token, ids, 40, 60)))
    traffic.start()
    time.sleep(10)
    produce_all(kafka, "payment-accepted", [(f"bad-{i}", b"{not json") for i in range(20)])
    time.sleep(10)
    victim = flow_pids()[-1]
    print(f"kill -9 {victim}", file=sys.stderr)
    os.kill(victim, signal.SIGKILL)
    time.sleep(15)
    produce_all(kafka, "payment-accepted", payments(20_000, "burst"))
    traffic.join()
    recorder.join()
    dashboard.picture(dashboard.load(samples), args.out, "Order service, make run PROCESSES=2 (scraped every second)")
    print(f"written {args.out} (samples in {samples})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
