"""The load generator of B2 repeated, in a process of its own (so its CPU is not the API's).

    python -m bench.repeated_load PORT RATE SECONDS IDS_FILE TOKEN

Open loop: refund-product of 1 unit, round-robin over the orders in IDS_FILE, the
token as a cookie; latency from each request's due time. Prints one JSON line:
latencies (s) of answered requests (200 or 409) and the count of each status."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from pathlib import Path

import aiohttp

from bench.load import open_loop

SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}  # a page of the shop's own, as a browser says


async def main(port: int, rate: float, seconds: float, ids: list[str], token: str) -> dict:
    statuses: Counter[str] = Counter()

    async def refund(session: aiohttp.ClientSession, i: int) -> bool:
        url = f"http://127.0.0.1:{port}/api/order/{ids[i % len(ids)]}/refund-product"
        async with session.post(
            url, json={"productId": "apple", "quantity": 1}, cookies={"token": token}, headers=SAME_ORIGIN
        ) as response:
            await response.read()
            statuses[str(response.status)] += 1
            return response.status in (200, 409)

    latencies, errors = await open_loop(refund, rate, seconds)
    return {"latencies": latencies, "statuses": dict(statuses), "errors": errors}


if __name__ == "__main__":
    port, rate, seconds, ids_file, token = sys.argv[1:6]
    ids = Path(ids_file).read_text().split()
    print(json.dumps(asyncio.run(main(int(port), float(rate), float(seconds), ids, token))))
