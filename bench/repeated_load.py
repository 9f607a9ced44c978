"""The load generator of B2 repeated, in a process of its own (so its CPU is not the API's).

    python -m bench.repeated_load PORT RATE SECONDS IDS_FILE TOKEN

Open loop: refund-product of 1 unit, round-robin over the orders in IDS_FILE, the
token as a cookie; latency from each request's due time. Prints one JSON line:
latencies (s) of answered requests (200 or 409), the count of each status, and
``sent``: for each 200 with an ``X-Request-Id``, [sent, answered, request id], the
two as wall-clock milliseconds (``bench.hops`` splits them by the Kafka timestamps)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp

from bench.load import open_loop

SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}  # a page of the shop's own, as a browser says


async def main(port: int, rate: float, seconds: float, ids: list[str], token: str) -> dict:
    statuses: Counter[str] = Counter()
    sent: list[tuple[float, float, str]] = []

    async def refund(session: aiohttp.ClientSession, i: int) -> bool:
        url = f"http://127.0.0.1:{port}/api/order/{ids[i % len(ids)]}/refund-product"
        started = time.time() * 1000
        async with session.post(
            url, json={"productId": "apple", "quantity": 1}, cookies={"token": token}, headers=SAME_ORIGIN
        ) as response:
            await response.read()
            statuses[str(response.status)] += 1
            if response.status == 200 and "X-Request-Id" in response.headers:
                sent.append((started, time.time() * 1000, response.headers["X-Request-Id"]))
            return response.status in (200, 409)

    latencies, errors = await open_loop(refund, rate, seconds)
    return {"latencies": latencies, "statuses": dict(statuses), "errors": errors, "sent": sent}


if __name__ == "__main__":
    port, rate, seconds, ids_file, token = sys.argv[1:6]
    ids = Path(ids_file).read_text().split()
    print(json.dumps(asyncio.run(main(int(port), float(rate), float(seconds), ids, token))))
