"""Deadlines: with the broker or the database frozen (SIGSTOP: alive to the OS, silent
on the wire), the API answers 503 with Retry-After within a bound, and what waits
meanwhile stays bounded."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest

from devkit.sandbox import Stack
from devkit.servers import free_port
from tests.integration.test_abuse import BEARER, placed, ready

pytestmark = pytest.mark.restarts_servers  # freezes the session's servers: not on servers it was given

MONGO_TIMEOUT_S = 1.0
MAX_IN_FLIGHT = 5


@contextmanager
def frozen(server) -> Iterator[None]:
    os.killpg(server.proc.pid, signal.SIGSTOP)
    try:
        wait_until_stopped(server.proc.pid)
        yield
    finally:
        os.killpg(server.proc.pid, signal.SIGCONT)


def wait_until_stopped(pgid: int, timeout_s: float = 10.0) -> None:
    """SIGSTOP stops a process only once the thread the kernel picked for it runs: on a
    busy machine its other threads answer queries for a while after ``killpg`` returns."""
    deadline = time.monotonic() + timeout_s
    while not all(state == "T" for state in _thread_states(pgid)):
        assert time.monotonic() < deadline, f"process group {pgid} not stopped after {timeout_s} s"
        time.sleep(0.005)


def _thread_states(pgid: int) -> list[str]:
    states = []
    for task in Path("/proc").glob("[0-9]*/task/[0-9]*/stat"):
        try:
            fields = task.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended
        if int(fields[2]) == pgid:  # after the name: state, ppid, pgrp
            states.append(fields[0])
    return states


@pytest.fixture
async def api(servers, tmp_path: Path) -> AsyncIterator[tuple[Stack, str, aiohttp.ClientSession]]:
    env = {"MONGO_TIMEOUT_MS": str(int(MONGO_TIMEOUT_S * 1000)), "API_MAX_IN_FLIGHT": str(MAX_IN_FLIGHT)}
    stack = Stack(servers.kafka_uri, servers.mongo_uri, tmp_path, env=env)
    try:
        stack.start_flow()
        port = free_port()
        stack.start_api(port)
        async with aiohttp.ClientSession() as session:
            await ready(session, f"http://127.0.0.1:{port}")
            yield stack, f"http://127.0.0.1:{port}/api/order", session
    finally:
        stack.close()


async def timed(session: aiohttp.ClientSession, method: str, url: str, **kw) -> tuple[int, float, dict, dict]:
    started = time.monotonic()
    async with session.request(method, url, headers=BEARER, **kw) as response:
        body = await response.json(content_type=None)
        return response.status, time.monotonic() - started, dict(response.headers), body


async def test_a_refund_with_the_broker_frozen_is_503_within_its_timeout(servers, api):
    stack, base, session = api
    order_id = await placed(stack, "user-1", "frozen-broker")
    with frozen(servers.kafka):
        status, took, headers, body = await timed(session, "POST", f"{base}/{order_id}/refund?timeout=2")
    assert status == 503
    assert body["reason"] == "unavailable"
    assert headers["Retry-After"] == "1"
    assert took < 2 + 1.5


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/findOrder/{order}"), ("POST", "/{order}/refund?timeout=10")], ids=["read", "refund"]
)
async def test_with_the_database_frozen_a_request_is_503_within_the_database_timeout(servers, api, method, path):
    stack, base, session = api
    order_id = await placed(stack, "user-1", f"frozen-db-{method}")
    with frozen(servers.mongo):
        status, took, headers, _ = await timed(session, method, base + path.format(order=order_id))
    assert status == 503
    assert "Retry-After" in headers
    assert took < MONGO_TIMEOUT_S + 1.5


async def test_while_the_database_is_frozen_at_most_the_limit_of_requests_wait(servers, api):
    stack, base, session = api
    order_id = await placed(stack, "user-1", "frozen-db-many")
    # 40 connections open before the freeze, so the 40 requests go out at once.
    await asyncio.gather(*(timed(session, "GET", f"{base}/findOrder/{order_id}") for _ in range(40)))
    with frozen(servers.mongo):
        results = await asyncio.gather(*(timed(session, "GET", f"{base}/findOrder/{order_id}") for _ in range(40)))
    reasons = Counter(body.get("reason") for _, _, _, body in results)
    # The limit's worth wait out the database timeout; a request the machine was slow to
    # deliver may find a place freed by them, a second wave: still never more at once.
    assert reasons["overloaded"] >= 40 - 2 * MAX_IN_FLIGHT, reasons
    statuses = Counter(status for status, *_ in results)
    assert set(statuses) == {503}, statuses


async def test_after_the_database_thaws_reads_answer_again_and_nothing_is_left_waiting(servers, api):
    stack, base, session = api
    order_id = await placed(stack, "user-1", "thawed")
    with frozen(servers.mongo):
        await asyncio.gather(*(timed(session, "GET", f"{base}/findOrder/{order_id}") for _ in range(20)))
    status, *_ = await timed(session, "GET", f"{base}/findOrder/{order_id}")
    assert status == 200
    async with session.get(base.removesuffix("/api/order") + "/metrics") as response:
        metrics = await response.text()
    assert "order_api_in_flight_requests 0.0" in metrics
