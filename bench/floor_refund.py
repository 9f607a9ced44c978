"""The floor B2 repeated holds ours against: the same design (two Kafka hops and a
consumer between the call and its answer) done bare, with nothing else.

    python -m bench.floor_refund api PORT      # the HTTP side
    python -m bench.floor_refund worker        # the consumer loop

Both read their servers and client settings from the environment the order service
reads (``shared.config``: brokers, fetch wait, producer settings), two topics of the
shape of ``refund-request`` and ``order-events`` (``FLOOR_REQUESTS``, ``FLOOR_ANSWERS``)
and copies of the orders (collection ``FLOOR_ORDERS``). The API checks the cookie
token (HS256, expiry required), reads the order (404 for another user's), produces
the request keyed by order id (linger 1 ms, as ours) and waits for its answer, read
by a thread that blocks in ``poll`` on every partition of the answers topic. The
worker blocks in ``poll`` on the requests, does the original's database work for
each (``bench.direct_refund``: a read and a write guarded by the version), produces
each answer (linger 5 ms, as our flow) and flushes once a batch. No idempotency, no
records, no dead letters: what the design itself costs."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import uuid
from typing import Any

import jwt
from aiohttp import web
from confluent_kafka import Consumer, Producer, TopicPartition
from pymongo import AsyncMongoClient, MongoClient

from bench.direct_refund import ATTEMPTS
from shared.config import load_settings
from shared.kafka_config import fetch_wait_for

POLL_S = 1.0  # the longest a blocked poll waits before it looks whether it should stop
BATCH = 100


def _settings():
    return load_settings(os.environ, dotenv=None)


def _waited(consumer: Consumer) -> list:
    """What came: blocks until one message (``consume`` would wait for a whole batch or
    its timeout), then takes what else is there."""
    first = consumer.poll(POLL_S)
    return [] if first is None else [first, *consumer.consume(BATCH - 1, 0)]


def _assigned(config: dict[str, Any], topic: str, at_end: bool) -> Consumer:
    consumer = Consumer({**config, "group.id": f"floor-{uuid.uuid4().hex}", "enable.auto.commit": False})
    partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
    start = -1 if at_end else -2  # OFFSET_END, OFFSET_BEGINNING
    consumer.assign([TopicPartition(topic, p, start) for p in partitions])
    return consumer


# --- the API ------------------------------------------------------------------------


async def refund(request: web.Request) -> web.Response:
    app = request.app
    try:
        claims = jwt.decode(
            request.cookies.get("token", ""), app["secret"], algorithms=["HS256"], options={"require": ["exp"]}
        )
    except jwt.PyJWTError:
        return web.json_response({"title": "unauthorized"}, status=401)
    body = await request.json()
    order_id = request.match_info["orderId"]
    order = await app["orders"].find_one({"_id": order_id}, {"userId": 1})
    if order is None or order["userId"] != claims["userId"]:
        return web.json_response({"title": "no such order"}, status=404)
    rid = uuid.uuid4().hex
    answer: asyncio.Future[dict] = asyncio.get_running_loop().create_future()
    app["waiting"][rid] = answer
    try:
        ask = {"requestId": rid, "orderId": order_id, "productId": body["productId"], "quantity": body["quantity"]}
        app["producer"].produce(app["requests"], json.dumps(ask).encode(), order_id.encode())
        decided = await asyncio.wait_for(answer, 10)
    except TimeoutError:
        return web.json_response({"requestId": rid}, status=202)
    finally:
        app["waiting"].pop(rid, None)
    return web.json_response(decided, status=decided.pop("status"), headers={"X-Request-Id": rid})


def _read_answers(app: web.Application, loop: asyncio.AbstractEventLoop) -> None:
    consumer: Consumer = app["answers_consumer"]
    while app["running"]:
        for msg in _waited(consumer):
            if msg.error() is None:
                decided = json.loads(msg.value())
                loop.call_soon_threadsafe(_settle, app["waiting"], decided)
    consumer.close()


def _settle(waiting: dict[str, asyncio.Future], decided: dict) -> None:
    future = waiting.get(decided.pop("requestId"))
    if future is not None and not future.done():
        future.set_result(decided)


def _poll_deliveries(app: web.Application) -> None:
    while app["running"]:
        app["producer"].poll(0.05)


def api(port: int) -> None:
    settings = _settings()
    app = web.Application()
    client: AsyncMongoClient = AsyncMongoClient(settings.mongo_uri)
    app.update(
        secret=settings.jwt_secret,
        orders=client.get_default_database()[os.environ["FLOOR_ORDERS"]],
        requests=os.environ["FLOOR_REQUESTS"],
        producer=Producer(settings.kafka.producer(linger_ms=1)),
        answers_consumer=_assigned(_fetching(settings), os.environ["FLOOR_ANSWERS"], at_end=True),
        waiting={},
        running=True,
    )
    app.router.add_post("/api/order/{orderId}/refund-product", refund)

    async def start_threads(app: web.Application) -> None:
        loop = asyncio.get_running_loop()
        for target, args in ((_read_answers, (app, loop)), (_poll_deliveries, (app,))):
            threading.Thread(target=target, args=args, daemon=True).start()

    async def close(app: web.Application) -> None:
        app["running"] = False
        await client.close()

    app.on_startup.append(start_threads)
    app.on_cleanup.append(close)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, shutdown_timeout=1)


def _fetching(settings) -> dict[str, Any]:
    return settings.kafka.client(**{"fetch.wait.max.ms": fetch_wait_for(settings.kafka, settings.fetch_wait_ms)})


# --- the worker ---------------------------------------------------------------------


def _refunded(orders, ask: dict) -> dict:
    """The original's database work for one request: the answer to send."""
    for _ in range(ATTEMPTS):
        order = orders.find_one({"_id": ask["orderId"]})
        if order is None:
            return {"status": 404, "title": "no such order"}
        index = next((i for i, line in enumerate(order["products"]) if line["productId"] == ask["productId"]), None)
        if index is None:
            return {"status": 404, "title": "no such product in the order"}
        line = order["products"][index]
        if line["refundedQuantity"] + ask["quantity"] > line["quantity"]:
            return {"status": 409, "title": "nothing left to refund"}
        changed = orders.update_one(
            {"_id": ask["orderId"], "version": order["version"]},
            {"$inc": {f"products.{index}.refundedQuantity": ask["quantity"], "version": 1}},
        )
        if changed.modified_count:
            return {"status": 200, "orderId": ask["orderId"], "version": order["version"] + 1}
    return {"status": 409, "title": "too many concurrent changes"}


def worker() -> None:
    settings = _settings()
    client: MongoClient[dict[str, Any]] = MongoClient(settings.mongo_uri)
    orders = client.get_default_database()[os.environ["FLOOR_ORDERS"]]
    consumer = _assigned(_fetching(settings), os.environ["FLOOR_REQUESTS"], at_end=False)
    producer = Producer(settings.kafka.producer(linger_ms=5))
    answers = os.environ["FLOOR_ANSWERS"]
    while True:
        batch = [m for m in _waited(consumer) if m.error() is None]
        for msg in batch:
            ask = json.loads(msg.value())
            answer = {"requestId": ask["requestId"], **_refunded(orders, ask)}
            producer.produce(answers, json.dumps(answer).encode(), msg.key())
            producer.poll(0)
        if batch:
            producer.flush()


if __name__ == "__main__":
    from ops import children

    children.exit_on_sigterm()
    if sys.argv[1:2] == ["api"]:
        api(int(sys.argv[2]))
    elif sys.argv[1:2] == ["worker"]:
        worker()
    else:
        sys.exit(__doc__)
