"""Slow clients cannot starve others: a body has a deadline, and one caller holds at
most a share of the in-flight places. Probes cost nothing and tell strangers nothing."""

from __future__ import annotations

import asyncio
import time

from http_api import keys
from http_api.app import create_app
from shared.config import load_settings
from tests.api.conftest import ADMIN, OTHER, OWNER, SECRET, add_order

SLOW_BODY = 65_536


async def slow_body(
    host: str, port: int, path: str, headers: dict[str, str]
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A request whose headers promise a 64 KiB body, of which one byte is sent."""
    reader, writer = await asyncio.open_connection(host, port)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {SLOW_BODY}\r\n{head}\r\n{{".encode()
    )
    await writer.drain()
    return reader, writer


async def hang_up(held: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]) -> None:
    for _, writer in held:
        writer.close()
        await writer.wait_closed()


async def limited_client(aiohttp_client, store, publisher, feed, **env: str):
    settings = load_settings({"JWT_SEC": SECRET, **env}, dotenv=None)
    return await aiohttp_client(create_app(settings, store=store, publisher=publisher, feed=feed))


async def test_one_user_holding_slow_bodies_leaves_another_users_read_answering(aiohttp_client, store, publisher, feed):
    client = await limited_client(aiohttp_client, store, publisher, feed, API_MAX_IN_FLIGHT="4")
    order_id = add_order(store, "pay-2", user="user-2")
    server = client.server
    held = [await slow_body(server.host, server.port, f"/api/order/{order_id}/refund-product", OWNER) for _ in range(8)]
    await asyncio.sleep(0.2)  # every slow request is in the API now
    started = time.monotonic()
    response = await client.get(f"/api/order/findOrder/{order_id}", headers=OTHER)
    assert response.status == 200, await response.text()  # before: 503, user-1 held every place
    took = time.monotonic() - started
    await hang_up(held)
    assert took < 1.0


async def test_a_body_that_does_not_arrive_in_time_is_408_and_frees_its_place(aiohttp_client, store, publisher, feed):
    client = await limited_client(
        aiohttp_client, store, publisher, feed, API_MAX_IN_FLIGHT="1", API_BODY_TIMEOUT_S="0.5"
    )
    order_id = add_order(store, "pay-1")
    server = client.server
    reader, writer = await slow_body(server.host, server.port, f"/api/order/{order_id}/refund-product", OWNER)
    status_line = await asyncio.wait_for(reader.readline(), 5)
    await hang_up([(reader, writer)])
    assert status_line.startswith(b"HTTP/1.1 408"), status_line
    assert client.app[keys.METRICS].in_flight._value.get() == 0
    after = await client.get(f"/api/order/findOrder/{order_id}", headers=OWNER)
    assert after.status == 200


async def test_readiness_probes_once_for_many_callers_at_once(client, store):
    pings = 0
    real_ping = store.ping

    async def counted() -> None:
        nonlocal pings
        pings += 1
        await real_ping()

    store.ping = counted
    answers = await asyncio.gather(*(client.get("/health/ready") for _ in range(50)))
    assert {a.status for a in answers} == {200}
    assert pings == 1


async def test_readiness_tells_an_anonymous_caller_down_without_the_error(client, store):
    store.up = False
    anonymous = await (await client.get("/health/ready")).json()
    assert anonymous["checks"]["mongo"] == "down"
    assert "mongo is down" not in str(anonymous)


async def test_readiness_tells_an_admin_why(client, store):
    store.up = False
    admin = await (await client.get("/health/ready", headers=ADMIN)).json()
    assert "mongo is down" in admin["checks"]["mongo"]


async def test_readiness_callers_during_a_slow_probe_are_answered_from_the_last_report(client, store):
    assert (await client.get("/health/ready")).status == 200
    real_ping, release = store.ping, asyncio.Event()

    async def slow() -> None:
        await release.wait()
        await real_ping()

    store.ping = slow
    client.app[keys.READINESS]._at = float("-inf")  # the last report is old: the next caller starts a probe
    answers = await asyncio.wait_for(asyncio.gather(*(client.get("/health/ready") for _ in range(200))), 5)
    release.set()
    assert {a.status for a in answers} == {200}


async def test_readiness_callers_before_the_first_probe_wait_only_up_to_a_bound():
    from http_api.readiness import MAX_WAITING, NOT_PROBED, Readiness

    release = asyncio.Event()

    async def probe() -> dict[str, str]:
        await release.wait()
        return {"mongo": "ok"}

    readiness = Readiness(probe)
    waiting = [asyncio.create_task(readiness.report()) for _ in range(MAX_WAITING)]
    await asyncio.sleep(0)
    assert await asyncio.wait_for(readiness.report(), 1) == NOT_PROBED
    release.set()
    assert {str(r) for r in await asyncio.gather(*waiting)} == {str({"mongo": "ok"})}
