"""HTTP load: an open-loop generator (no coordinated omission) and a closed loop."""

from __future__ import annotations

import asyncio
import time

import aiohttp


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


async def open_loop(make_request, rate: float, seconds: float) -> tuple[list[float], int]:
    """Send at fixed times; latency counts from when a request was due, not when it went out,
    so a slow server's queue shows in the figures. Returns latencies (s) and errors."""
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=2000)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter() + 0.2
        count = int(rate * seconds)

        async def one(i: int) -> None:
            nonlocal errors
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            try:
                ok = await make_request(session, i)
            except aiohttp.ClientError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - due)
            else:
                errors += 1

        await asyncio.gather(*(one(i) for i in range(count)))
    return latencies, errors


async def closed_loop(
    urls: str | list[str], headers: dict[str, str], concurrency: int, seconds: float
) -> tuple[float, float]:
    """Requests per second and p99 latency (s) with ``concurrency`` clients back to back;
    with several ``urls``, client ``c`` asks for ``urls[c]``, ``urls[c + concurrency]``, ..."""
    urls = [urls] if isinstance(urls, str) else urls
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def client(c: int) -> None:
            i = c
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                async with session.get(urls[i % len(urls)], headers=headers) as response:
                    await response.read()
                    assert response.status == 200, response.status
                latencies.append(time.perf_counter() - sent)
                i += concurrency

        started = time.perf_counter()
        await asyncio.gather(*(client(c) for c in range(concurrency)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, percentile(latencies, 99)
