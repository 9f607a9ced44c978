"""The machinery of the Jepsen-style money test (``test_money_under_faults``): clients
that retry with Idempotency-Keys, a nemesis that kills and pauses processes and
fires the fault points, a supervisor that restarts what died (as docs/operations.md
says a process manager should), and the history they write for ``tests.money_checker``."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from devkit.sandbox import JWT_SECRET, Stack
from devkit.servers import free_port
from http_api.auth import issue_token
from shared.faults import POINTS
from shared.ids import order_id_for_payment
from shared.schemas.requests import idempotency_hash
from shared.storage import KEYS_COLLECTION, PENDING, order_from_doc
from tests.flowkit import payment
from tests.money_checker import Attempt, History, Op, Record, StoredOrder, is_final

ORDERS_PER_USER = 20  # enough that most requests reach the flow: a refunded order refuses at the API
RECENT_ORDERS = 20  # a client works on its user's newest orders: older ones are mostly refunded
THINK_S = (0.05, 0.4)  # a client's pause between operations
CALL_TIMEOUT_S = 8.0  # a client's own patience with one attempt: past it, the attempt counts as dropped
OUTCOME_WAIT = 2  # ?timeout= on each mutation
DRAIN_S = 120.0  # after the run, how long a client keeps retrying its last operation
NEMESIS_EVERY_S = (2.0, 4.0)
PAUSE_S = (1.5, 3.0)
FAULT_FIRE_WAIT_S = 20.0
FIRST_ROUND_TRIES = 3  # a fault of the first round that did not fire is tried up to this often
KINDS = ("kill-flow", "kill-api", "pause-mongo", "pause-broker", "expire-keys")
ENV = {
    "RATE_LIMIT_MUTATIONS": "100000/s burst 100000",
    "IDEMPOTENCY_KEYS_PER_DAY": "1000000",
    "STATE_IDLE_SECONDS": "5",
}


@dataclass
class Supervised:
    """A process the supervisor restarts when it dies, with the env armed for its next start."""

    name: str
    start: Any  # (env) -> Popen
    proc: subprocess.Popen
    armed: dict[str, str] | None = None
    restarts: int = 0


@dataclass
class Run:
    stack: Stack
    servers: Any
    workdir: Path
    seconds: float
    clients: int
    seed: int = 1
    history: History = field(default_factory=History)
    fired: Counter[str] = field(default_factory=Counter)
    procs: dict[str, Supervised] = field(default_factory=dict)
    bases: list[str] = field(default_factory=list)
    orders_of: dict[str, list[str]] = field(default_factory=dict)
    answered: dict[str, list[Op]] = field(default_factory=dict)  # by user: operations with a final answer
    expired: dict[str, list[Op]] = field(default_factory=dict)  # by user: operations whose key was expired
    markers: list[tuple[str, Path]] = field(default_factory=list)
    nemesis_done: bool = False
    ended_at: float = 0.0  # when the run ended: clients retry their last operations DRAIN_S more
    _ids: Any = field(default_factory=itertools.count)

    # --- the stack ---------------------------------------------------------------

    def start(self) -> None:
        recovery = self.workdir / "recovery"
        self._supervise("flow", lambda env: self.stack.start_flow(recovery=recovery, env=env))
        for i in range(2):
            port = free_port()
            self._supervise(f"api-{i}", lambda env, port=port: self.stack.start_api(port, env=env))
            self.bases.append(f"http://127.0.0.1:{port}")

    def _supervise(self, name: str, start: Any) -> None:
        self.procs[name] = Supervised(name, start, start(None))

    async def supervisor(self, done: asyncio.Event) -> None:
        while not done.is_set():
            for p in self.procs.values():
                if p.proc.poll() is not None:
                    self.stack.stopped.add(p.proc.pid)
                    p.proc = p.start(p.armed)
                    p.armed, p.restarts = None, p.restarts + 1
            await asyncio.sleep(0.2)

    # --- payments ------------------------------------------------------------------

    async def make_orders(self) -> None:
        users = [f"user-{i}" for i in range(self.clients)]
        made = []
        for user in users:
            names = [f"{user}-order-{n}" for n in range(ORDERS_PER_USER)]
            self.orders_of[user] = [order_id_for_payment(n) for n in names]
            made += [(n, payment(n, user=user)) for n in names]
        self.stack.produce(self.stack.topics.payment_accepted.name, made)
        self.history.payments += [n for n, _ in made]
        wanted = [o for ids in self.orders_of.values() for o in ids]
        await asyncio.to_thread(
            self.stack.wait_for,
            lambda: self.stack.orders.count_documents({"_id": {"$in": wanted}}) == len(wanted),
            120,
            "the first orders",
        )

    async def payments(self, end: float, rng: random.Random) -> None:
        """New payments all along, some sent twice: each must become one order, which
        its user's client takes up once it is stored (a long run keeps fresh orders)."""
        unseen: dict[str, str] = {}  # order id -> user
        for n in itertools.count():
            if not self.running(end):
                return
            name, user = f"live-{n}", f"user-{rng.randrange(self.clients)}"
            copies = 2 if rng.random() < 0.3 else 1
            await asyncio.to_thread(
                self.stack.produce, self.stack.topics.payment_accepted.name, [(name, payment(name, user=user))] * copies
            )
            self.history.payments.append(name)
            unseen[order_id_for_payment(name)] = user
            for order_id in await asyncio.to_thread(self._stored_among, list(unseen)):
                self.orders_of[unseen.pop(order_id)].append(order_id)
            await asyncio.sleep(rng.uniform(0.5, 1.5))

    def _stored_among(self, order_ids: list[str]) -> list[str]:
        return [d["_id"] for d in self.stack.orders.find({"_id": {"$in": order_ids}}, {"_id": 1})]

    # --- clients -------------------------------------------------------------------

    async def client(self, index: int, session: aiohttp.ClientSession, end: float) -> None:
        rng = random.Random(self.seed * 1000 + index)
        user = f"user-{index}"
        token = issue_token(JWT_SECRET, user, [])
        while self.running(end):
            op = self._next_op(rng, user)
            self.history.ops.append(op)
            names = [f"c{index}", f"c{index}-twin"] if op.purpose == "twin" else [f"c{index}"]
            finals = await asyncio.gather(*(self._until_final(session, token, op, n, rng, end) for n in names))
            if all(finals) and op.purpose in ("new", "twin"):
                self.answered.setdefault(user, []).append(op)
            await asyncio.sleep(rng.uniform(*THINK_S))

    def _next_op(self, rng: random.Random, user: str) -> Op:
        op_id = f"op-{next(self._ids)}"
        held = [o for o in self.answered.get(user, []) if int(o.id[3:]) % 2]  # odd ones: never expired
        expired = self.expired.get(user, [])
        roll = rng.random()
        if roll < 0.08 and held:
            earlier = rng.choice(held)
            kind, body = _other_than(earlier, rng)
            return Op(op_id, user, earlier.key, kind, earlier.order_id, body, earlier.id, "conflict")
        if roll < 0.14 and expired:
            earlier = expired.pop(rng.randrange(len(expired)))
            return Op(op_id, user, earlier.key, earlier.kind, earlier.order_id, earlier.body, earlier.id, "renewed")
        kind, body = _a_request(rng)
        purpose = "twin" if roll > 0.9 else "new"
        order_id = rng.choice(self.orders_of[user][-RECENT_ORDERS:])
        return Op(op_id, user, f"key-{op_id}", kind, order_id, body, None, purpose)

    async def _until_final(
        self, session: aiohttp.ClientSession, token: str, op: Op, client: str, rng: random.Random, end: float
    ) -> bool:
        while True:
            started = time.monotonic()
            status, rid, reason = await _call(session, rng.choice(self.bases), token, op, rng)
            self.history.attempts.append(Attempt(op.id, client, started, time.monotonic(), status, rid, reason))
            if is_final(status):
                return True
            if not self.running(end) and time.monotonic() - self.ended_at > DRAIN_S:
                return False
            await asyncio.sleep(rng.uniform(0.2, 0.5))

    # --- the nemesis -------------------------------------------------------------------

    async def nemesis(self, end: float) -> None:
        """Every kind of fault once, in a random order, then random ones until ``end``;
        the run lasts until the first round is done (``running``), however slow."""
        rng = random.Random(self.seed)
        plan = [*KINDS, *(f"fault:{p}" for p in POINTS)]
        rng.shuffle(plan)
        tries: Counter[str] = Counter()
        try:
            while plan or time.monotonic() < end:
                await asyncio.sleep(rng.uniform(*NEMESIS_EVERY_S))
                action = plan.pop() if plan else rng.choice([*KINDS, *KINDS, *(f"fault:{p}" for p in POINTS)])
                self.history.events.append({"at": time.monotonic(), "action": action})
                await self._act(action, rng)
                tries[action] += 1
                if not self.fired[action] and tries[action] < FIRST_ROUND_TRIES:
                    plan.insert(0, action)  # a point that did not fire in time (a slow restart): again, later
        finally:
            self.nemesis_done = True

    def running(self, end: float) -> bool:
        now = time.monotonic()
        if now < end or not self.nemesis_done:
            return True
        self.ended_at = self.ended_at or now
        return False

    async def _act(self, action: str, rng: random.Random) -> None:
        if action == "kill-flow":
            self._kill("flow")
        elif action == "kill-api":
            self._kill(rng.choice([n for n in self.procs if n.startswith("api")]))
        elif action == "pause-mongo":
            await self._pause(self.servers.mongo, rng)
        elif action == "pause-broker":
            await self._pause(self.servers.kafka, rng)
        elif action == "expire-keys":
            chosen = self._expiring(rng)
            await asyncio.to_thread(self._expire, chosen)
            for op in chosen:  # reused only once their documents say their day is over
                self.expired.setdefault(op.user, []).append(op)
        else:
            await self._fire(action.removeprefix("fault:"))
            return
        self.fired[action] += 1

    def _kill(self, name: str) -> None:
        proc = self.procs[name].proc
        if proc.poll() is None:
            self.stack.stopped.add(proc.pid)
            os.killpg(proc.pid, signal.SIGKILL)

    async def _pause(self, server: Any, rng: random.Random) -> None:
        os.killpg(server.pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(rng.uniform(*PAUSE_S))
        finally:
            os.killpg(server.pid, signal.SIGCONT)

    async def _fire(self, point: str) -> None:
        """Restart the process the point is in, armed; wait (a while) for it to fire."""
        name = "api-0" if point.startswith("api") else "flow"
        marker = self.workdir / f"fired-{point}-{len(self.markers)}"
        self.markers.append((point, marker))
        self.procs[name].armed = {"FAULT_POINTS": f"{point}=kill:{marker}"}
        self._kill(name)
        deadline = time.monotonic() + FAULT_FIRE_WAIT_S
        while not marker.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        if marker.exists():
            self.fired[f"fault:{point}"] += 1

    def _expiring(self, rng: random.Random) -> list[Op]:
        """Some answered operations whose keys reach the end of their day (chosen on the
        loop, where the clients read these lists)."""
        chosen = []
        for ops in self.answered.values():
            even = [o for o in ops if not int(o.id[3:]) % 2]
            for op in rng.sample(even, min(2, len(even))):
                ops.remove(op)
                chosen.append(op)
        return chosen

    def _expire(self, ops: list[Op]) -> None:
        """Their documents dated two days back, as the TTL index has not swept them yet."""
        keys = self.stack.mongo.get_default_database()[KEYS_COLLECTION]
        past = datetime.now(UTC) - timedelta(days=2)
        for op in ops:
            keys.update_one({"_id": key_doc_id(op)}, {"$set": {"createdAt": past}})

    # --- the end -----------------------------------------------------------------------

    def settle(self, quiet_s: float = 5.0, timeout: float = 120.0) -> None:
        """Until every payment has its order and the stored records stop changing."""
        payments = set(self.history.payments)
        last, since, deadline = None, time.monotonic(), time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = (self.stack.records.count_documents({}), self.stack.orders.count_documents({}))
            stored = {d["paymentId"] for d in self.stack.orders.find({}, {"paymentId": 1})}
            if now != last:
                last, since = now, time.monotonic()
            elif payments <= stored and time.monotonic() - since >= quiet_s:
                return
            time.sleep(0.5)

    def stored(self) -> tuple[list[Record], dict[str, StoredOrder], dict[tuple[str, str], str]]:
        docs = list(self.stack.orders.find({}))
        records = {r["_id"]: r for r in self.stack.records.find({})}
        for doc in docs:
            for r in doc.get(PENDING, []):
                records.setdefault(r["_id"], r)
        orders = {}
        for doc in docs:
            order = order_from_doc(doc)
            units = {line.product_id: line.refunded_quantity for line in order.lines}
            orders[order.id] = StoredOrder(order.id, order.payment_id, str(order.status), order.refunded_amount, units)
        keys = self.stack.mongo.get_default_database()[KEYS_COLLECTION]
        held = {d["_id"]: d["requestId"] for d in keys.find({})}
        by_key = {(o.user, o.key): held[key_doc_id(o)] for o in self.history.ops if key_doc_id(o) in held}
        rows = [Record(r["requestId"], r["orderId"], r["seq"], r["status"], r["reason"]) for r in records.values()]
        return rows, orders, by_key

    def write(self, path: Path, verdict: Any) -> None:
        out = {
            "history": self.history.to_json(),
            "fired": dict(self.fired),
            "restarts": {n: p.restarts for n, p in self.procs.items()},
            "verdict": {
                "anomalies": verdict.anomalies,
                "indeterminate": verdict.indeterminate,
                "counts": dict(verdict.counts),
            },
        }
        path.write_text(json.dumps(out, indent=1, default=str))


def key_doc_id(op: Op) -> str:
    return f"{op.user}:{idempotency_hash(op.user, op.key)}"


ADDRESSES = ("1 Main St", "2 High St", "3 Low Rd")


def _a_request(rng: random.Random) -> tuple[str, dict[str, Any]]:
    roll = rng.random()
    if roll < 0.45:
        return "product", {"productId": rng.choice(["apple", "pear"]), "quantity": rng.choice([1, 1, 2])}
    if roll < 0.6:
        return "whole", {}
    changes: dict[str, Any] = {"address": rng.choice(ADDRESSES)}
    if rng.random() < 0.7:
        changes["isGift"] = rng.random() < 0.5
    return "update", changes


def _other_than(op: Op, rng: random.Random) -> tuple[str, dict[str, Any]]:
    while True:
        kind, body = _a_request(rng)
        if (kind, body) != (op.kind, op.body):
            return kind, body


async def _call(
    session: aiohttp.ClientSession, base: str, token: str, op: Op, rng: random.Random
) -> tuple[int, str | None, str | None]:
    """(status, the request id the answer names, its reason); status 0 for a dropped call."""
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": op.key, "Content-Type": "application/json"}
    url, method, data = _route(base, op, rng)
    try:
        async with session.request(method, url, data=data, headers=headers) as response:
            text = await response.text()
            status = response.status
            header_rid = response.headers.get("X-Request-Id")
    except (TimeoutError, aiohttp.ClientError):
        return 0, None, None
    body = _json(text)
    if status == 200:
        return status, header_rid, None
    if status >= 500:
        return status, None, body.get("reason")
    return status, body.get("requestId"), body.get("reason")


def _route(base: str, op: Op, rng: random.Random) -> tuple[str, str, str | None]:
    path = f"{base}/api/order/{op.order_id}"
    if op.kind == "whole":
        return f"{path}/refund?timeout={OUTCOME_WAIT}", "POST", None
    if op.kind == "product":
        return f"{path}/refund-product?timeout={OUTCOME_WAIT}", "POST", json.dumps(op.body)
    items = list(op.body.items())
    rng.shuffle(items)  # a retry's JSON keys in another order is the same request
    return f"{path}?timeout={OUTCOME_WAIT}", "PATCH", json.dumps(dict(items))


def _json(text: str) -> dict[str, Any]:
    try:
        body = json.loads(text)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
