"""B2: refund round-trip latency at fixed arrival rates. B3: read throughput."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pymongo import DESCENDING

from bench.load import closed_loop, open_loop, percentile
from bench.results import Result
from devkit.samples import payment
from devkit.sandbox import JWT_SECRET, Stack
from devkit.servers import free_port, wait_for_port
from http_api.auth import issue_token
from shared.ids import order_id_for_payment

ORDERS = 1_000  # owned by 100 users, 10 each: refunds spread as in a shop, not piled on a few orders
USERS = 100
BARE_APP = """
import json, sys
from aiohttp import web
body = json.loads(sys.argv[2])
async def handler(request):
    return web.json_response(body)
app = web.Application()
app.router.add_get("/bare", handler)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


async def raw_find_one(uri: str, order_ids: list[str], concurrency: int, seconds: float) -> float:
    """find_one calls per second on the same server: the limit one-read-per-request works against.
    Client ``c`` reads ``order_ids[c]``, ``order_ids[c + concurrency]``, ... as ``closed_loop`` asks."""

    async def read(orders, i: int) -> None:
        await orders.find_one({"_id": order_ids[i % len(order_ids)]}, {"origin": 0})

    return (await raw_reads(uri, read, concurrency, seconds))[0]


async def raw_user_page(uri: str, user_id: str, concurrency: int, seconds: float) -> tuple[float, float]:
    """The floor of ``find/:userId``: the same page (a user's 20 newest orders, the fields
    the API reads) asked of the same server with pymongo alone; requests/s and p99 (s)."""
    from http_api.mongo_store import CLIENT_READ

    newest_first = [("createdAt", DESCENDING), ("_id", DESCENDING)]

    async def read(orders, _i: int) -> None:
        await orders.find({"userId": user_id}, CLIENT_READ).sort(newest_first).limit(20).to_list(20)

    return await raw_reads(uri, read, concurrency, seconds)


async def raw_reads(uri: str, read, concurrency: int, seconds: float) -> tuple[float, float]:
    """``read(orders, i)`` by ``concurrency`` clients back to back: calls/s and p99 (s)."""
    from pymongo import AsyncMongoClient

    from shared.config import database_name

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    orders = client[database_name(uri)]["orders"]
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def loop(c: int) -> None:
        i = c
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            await read(orders, i)
            latencies.append(time.perf_counter() - sent)
            i += concurrency

    started = time.perf_counter()
    await asyncio.gather(*(loop(c) for c in range(concurrency)))
    elapsed = time.perf_counter() - started
    await client.close()
    return len(latencies) / elapsed, percentile(latencies, 99)


def mongo_round_trip(stack: Stack, samples: int = 300) -> float:
    scratch = stack.orders.database["round-trip"]
    scratch.update_one({"_id": "x"}, {"$set": {"n": 0}}, upsert=True)
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        scratch.update_one({"_id": "x"}, {"$inc": {"n": 1}})
        times.append(time.perf_counter() - started)
    return percentile(times, 50)


def setup(stack: Stack, log) -> tuple[int, list[str]]:
    stack.start_flow()
    bodies = [
        payment(
            f"b2-{i}",
            user=f"user-{i % USERS}",
            products=[{"productId": "apple", "quantity": 1_000_000, "price": 1}],
            totalPrice=1_000_000,
        )
        for i in range(ORDERS)
    ]
    stack.produce(stack.topics.payment_accepted.name, [(b["paymentId"], b) for b in bodies])
    ids = [order_id_for_payment(b["paymentId"]) for b in bodies]
    stack.wait_for(lambda: stack.orders.estimated_document_count() >= ORDERS, 120, "B2 orders")
    port = free_port()
    wait_for_port(port, stack.start_api(port), 30, "the API")
    log(f"  API on :{port}, {ORDERS} orders ready")
    return port, ids


def b2(stack: Stack, port: int, ids: list[str], rates: list[int], seconds: float, log) -> list[Result]:
    # Each refund from its order's owner (within the per-user limit: 500/s over 100 users is 5/s each).
    owners = [{"Authorization": f"Bearer {issue_token(JWT_SECRET, f'user-{u}', [])}"} for u in range(USERS)]
    floor = mongo_round_trip(stack)
    offset = 0

    async def refund(session, i: int) -> bool:
        index = (offset + i) % len(ids)
        url = f"http://127.0.0.1:{port}/api/order/{ids[index]}/refund-product?timeout=10"
        headers = owners[index % USERS]
        async with session.post(url, json={"productId": "apple", "quantity": 1}, headers=headers) as response:
            await response.read()
            return response.status == 200

    asyncio.run(open_loop(refund, 20, 2))  # warm-up, not counted: connections, caches
    results = []
    for rate in rates:
        offset += 7919  # each run starts on other orders
        latencies, errors = asyncio.run(open_loop(refund, rate, seconds))
        p50, p95, p99 = (percentile(latencies, q) * 1000 for q in (50, 95, 99))
        log(f"    B2 at {rate}/s: p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms, {errors} errors")
        note = f"{len(latencies)} refunds, {errors} errors; baseline: one direct Mongo update (p50)"
        target = "value <= 100" if rate == 200 else ""
        results += [
            Result(f"B2 refund p50 at {rate}/s", p50, "ms", floor * 1000, "", note),
            Result(f"B2 refund p95 at {rate}/s", p95, "ms", floor * 1000, ""),
            Result(f"B2 refund p99 at {rate}/s", p99, "ms", floor * 1000, target),
        ]
    return results


def b3(stack: Stack, port: int, ids: list[str], seconds: float, workdir: Path, log) -> list[Result]:
    """Reads at 16 clients: one order asked for by all (a shop page everyone refreshes),
    and 1,000 orders spread over the clients; each beside raw ``find_one`` calls making
    the same reads on the same server, and beside a bare aiohttp handler."""
    import json
    import urllib.request

    user = {"Authorization": f"Bearer {issue_token(JWT_SECRET, 'user-1', [])}"}
    admin = {"Authorization": f"Bearer {issue_token(JWT_SECRET, 'ops', ['admin'])}"}
    base = f"http://127.0.0.1:{port}/api/order"
    sample_url = f"{base}/findOrder/{ids[1]}"  # one of user-1's
    with urllib.request.urlopen(urllib.request.Request(sample_url, headers=user)) as response:
        sample = json.loads(response.read())
    bare_port = free_port()
    bare = subprocess.Popen([sys.executable, "-c", BARE_APP, str(bare_port), json.dumps(sample)])
    try:
        wait_for_port(bare_port, bare, 30, "the bare handler")
        bare_rps, bare_p99 = asyncio.run(closed_loop(f"http://127.0.0.1:{bare_port}/bare", {}, 16, seconds))
        mongo_uri = stack.settings.mongo_uri or ""
        results = []
        for name, urls, headers, raw_ids in (
            ("findOrder, one order", sample_url, user, [ids[1]]),
            ("findOrder, 1,000 orders", [f"{base}/findOrder/{i}" for i in ids], admin, ids),
        ):
            raw_rps = asyncio.run(raw_find_one(mongo_uri, raw_ids, 16, seconds))
            rps, p99 = asyncio.run(closed_loop(urls, headers, 16, seconds))
            log(f"    B3 {name}: {rps:.0f} req/s, p99 {p99 * 1000:.1f} ms (raw find_one {raw_rps:.0f}/s)")
            raw_target = "ratio >= 0.8" if name.startswith("findOrder") else ""
            note = f"same server, 16 clients, the same {len(raw_ids):,} order(s)"
            results += [
                Result(f"B3 {name} requests/s vs bare handler", rps, "req/s", bare_rps, "ratio >= 0.5"),
                Result(f"B3 {name} requests/s vs raw find_one", rps, "req/s", raw_rps, raw_target, note),
                Result(f"B3 {name} p99", p99 * 1000, "ms", bare_p99 * 1000, "", "baseline: the bare handler's p99"),
            ]
        page_rps, page_p99 = asyncio.run(raw_user_page(mongo_uri, "user-1", 16, seconds))
        rps, p99 = asyncio.run(closed_loop(f"{base}/find/user-1?limit=20", user, 16, seconds))
        log(f"    B3 find/:userId: {rps:.0f} req/s, p99 {p99 * 1000:.1f} ms (raw page {page_rps:.0f}/s, "
            f"p99 {page_p99 * 1000:.1f} ms)")  # fmt: skip
        note = "the same page with pymongo alone: find({userId}).sort(newest first).limit(20), 16 clients"
        results += [
            Result("B3 find/:userId requests/s vs bare handler", rps, "req/s", bare_rps, "ratio >= 0.5"),
            Result("B3 find/:userId requests/s vs the raw page", rps, "req/s", page_rps, "ratio >= 0.7", note),
            Result("B3 find/:userId p99 vs the raw page", p99 * 1000, "ms", page_p99 * 1000, "ratio <= 2"),
        ]
        return results
    finally:
        bare.terminate()
        bare.wait()


def run(kafka_uri: str, mongo_uri: str, workdir: Path, quick: bool, log) -> list[Result]:
    stack = Stack(kafka_uri, mongo_uri, workdir / "b2")
    try:
        port, ids = setup(stack, log)
        seconds = 5 if quick else 20
        results = b2(stack, port, ids, [50, 200, 500], seconds, log)
        results += b3(stack, port, ids, 5 if quick else 15, workdir, log)
        return results
    finally:
        stack.close()
