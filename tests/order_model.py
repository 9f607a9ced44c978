"""A plain model of what each HTTP request should do to an order, and a stateful test
that holds the API to it (hypothesis ``RuleBasedStateMachine``).

The machine drives the API through a ``Driver``: the fast fakes (tests/api) or the
real stack (tests/integration). Its rules:

- whole refunds through ``GET refundOrder``, ``POST refund`` and ``POST refund`` with ``{}``;
- product refunds through ``GET refundProductFromOrder`` and ``POST refund-product``,
  of products the order has and has not, quantities from -1 to 4;
- product refunds with a field missing, null, misspelt or wrongly typed, and whole
  refunds that carry product fields (always 400, nothing moves);
- updates (gift flag, address, status) and cancellations, by the owner and by an admin;
- every one of those by another user on an order not theirs (403);
- each of them with no key or one of a few Idempotency-Keys per user, so keys repeat
  with the same body (a retry) and with another (422);
- keys expiring (their documents deleted, as the TTL index leaves them);
- where the driver can stop the flow: requests answered 202 while it is stopped,
  decided later in any order, and polled.

Its invariants, after every step: each answer's status equals the model's, and each
stored order equals the model's: status, version, units refunded per line and
``refundedAmount``, which is also price x units refunded, to the cent.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from http_api.auth import issue_token
from http_api.mutations import REJECTION_STATUS
from shared.domain.model import Order
from tests.card_scan import cards_in

PRICES = {"apple": 125, "pear": 1000}  # cents, as devkit.samples.payment makes them
UNITS = {"apple": 3, "pear": 2}
TOTAL = sum(PRICES[p] * UNITS[p] for p in PRICES)
OWNERS = ("user-1", "user-2")
ADMIN = "root"
USERS = (*OWNERS, ADMIN)
KEYS = (None, "k-1", "k-2")
MOVES = {"Pending": {"Processing", "Cancelled"}, "Processing": {"Shipped", "Cancelled"}, "Shipped": {"Delivered"}}
FROZEN = {"Refunded", "Cancelled"}

# (method, path, query, JSON body or None): each must be 400, whoever asks.
MALFORMED = [
    ("POST", "/{id}/refund-product", "", {}),
    ("POST", "/{id}/refund-product", "", {"productId": None, "quantity": None}),
    ("POST", "/{id}/refund-product", "", {"productId": "apple"}),
    ("POST", "/{id}/refund-product", "", {"quantity": 1}),
    ("POST", "/{id}/refund-product", "", {"productId": "apple", "quantity": "1"}),
    ("POST", "/{id}/refund-product", "", {"productId": "apple", "quantity": 1.0}),
    ("POST", "/{id}/refund-product", "", {"productId": "apple", "quantity": True}),
    ("POST", "/{id}/refund-product", "", {"product_id": "apple", "qty": 1}),
    ("POST", "/{id}/refund-product", "", {"productId": "apple", "quantity": 1, "price": 0}),
    ("GET", "/refundProductFromOrder/{id}", "", None),
    ("GET", "/refundProductFromOrder/{id}", "product_id=apple&qty=1", None),
    ("GET", "/refundProductFromOrder/{id}", "productId=apple", None),
    ("GET", "/refundProductFromOrder/{id}", "quantity=1", None),
    ("GET", "/refundProductFromOrder/{id}", "productId=apple&quantity=1.0", None),
    ("GET", "/refundProductFromOrder/{id}", "productId=apple&quantity=one", None),
    ("POST", "/{id}/refund", "", {"productId": "apple", "quantity": 1}),
    ("POST", "/{id}/refund", "productId=apple&quantity=1", None),
    ("GET", "/refundOrder/{id}", "productId=apple&quantity=1", None),
]
WHOLE_ROUTES = [("GET", "/refundOrder/{id}", None), ("POST", "/{id}/refund", None), ("POST", "/{id}/refund", {})]
CHANGES = [
    {"isGift": True},
    {"isGift": False},
    {"address": "2 High St"},
    {"address": "1 Main St"},
    *({"status": s} for s in ("Processing", "Shipped", "Delivered", "Cancelled", "Refunded")),
]


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


class Driver(Protocol):
    """The API under test, called synchronously."""

    can_stop_flow: bool

    def new_order(self, owner: str) -> str: ...

    def call(self, user: str, method: str, path: str, body: Any, key: str | None, query: str = "") -> Reply: ...

    def stored(self, order_id: str) -> Order: ...

    def expire_keys(self) -> None: ...

    def stop_flow(self) -> None: ...

    def resume_flow(self, order: Callable[[list[str]], list[str]]) -> None:
        """Decide what was published while stopped, request ids in the order ``order`` gives."""
        ...

    def close(self) -> None: ...


class AppDriver:
    """Calls an API app in a loop of its own, so that hypothesis' rules stay synchronous."""

    can_stop_flow = False

    def __init__(self, app: web.Application, secret: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = TestClient(TestServer(app), loop=self.loop)
        self.loop.run_until_complete(self.client.start_server())
        self.tokens = {u: issue_token(secret, u, ["admin"] if u == ADMIN else []) for u in USERS}
        self.answered: Counter[int] = Counter()  # statuses, so a run shows it did the work

    def call(self, user: str, method: str, path: str, body: Any, key: str | None, query: str = "") -> Reply:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        url = "/api/order" + path + (f"?{query}" if query else "")
        reply = self.loop.run_until_complete(self._call(method, url, headers, body))
        self.answered[reply.status] += 1
        return reply

    async def _call(self, method: str, url: str, headers: dict[str, str], body: Any) -> Reply:
        extra = {} if body is None else {"json": body}
        async with self.client.request(method, url, headers=headers, **extra) as response:
            text = await response.text()
            try:
                answer = json.loads(text)
            except ValueError:
                answer = text
            if response.content_type == "application/problem+json":
                assert cards_in(text) == [], f"a card number in a problem document: {text}"
            return Reply(response.status, answer, dict(response.headers))

    def close(self) -> None:
        self.loop.run_until_complete(self.client.close())
        self.loop.close()


@dataclass
class ModelOrder:
    id: str
    owner: str
    status: str = "Pending"
    left: dict[str, int] = field(default_factory=lambda: dict(UNITS))
    refunded: int = 0  # cents
    version: int = 1
    is_gift: bool = False
    address: str = "1 Main St"

    @property
    def any_refunded(self) -> bool:
        return any(self.left[p] < UNITS[p] for p in UNITS)

    def refund_all(self, status: str) -> None:
        self.left = dict.fromkeys(UNITS, 0)
        self.refunded = TOTAL
        self.status = status


def acts_for(user: str, owner: str) -> bool:
    return user in (ADMIN, owner)


def decide_whole(o: ModelOrder, user: str) -> int:
    if o.status in FROZEN or o.any_refunded:
        return 409
    o.refund_all("Refunded")
    o.version += 1
    return 200


def decide_product(o: ModelOrder, user: str, product: str, quantity: int) -> int:
    if o.status in FROZEN or product not in UNITS or quantity > o.left[product]:
        return 409
    o.left[product] -= quantity
    o.version += 1
    if not any(o.left.values()):
        o.refund_all("Refunded")
    else:
        o.refunded += quantity * PRICES[product]
        o.status = "PartiallyRefunded"
    return 200


def decide_update(o: ModelOrder, user: str, changes: dict[str, Any]) -> int:
    if "status" in changes and user != ADMIN:
        return 403
    if o.status in FROZEN:
        return 409
    current = {"isGift": o.is_gift, "address": o.address, "status": o.status}
    effective = {k: v for k, v in changes.items() if current[k] != v}
    target = effective.get("status")
    if target is not None and target not in MOVES.get(o.status, set()):
        return 409
    if not effective:
        return 200
    o.version += 1
    o.is_gift = effective.get("isGift", o.is_gift)
    o.address = effective.get("address", o.address)
    if target == "Cancelled":
        o.refund_all("Cancelled")
    elif target is not None:
        o.status = target
    return 200


Decision = Callable[[ModelOrder], int]


class ApiModel(RuleBasedStateMachine):
    """See the module's docstring. Subclasses set ``driver_factory``."""

    driver_factory: Callable[[], Driver]

    def __init__(self) -> None:
        super().__init__()
        self.driver = type(self).driver_factory()
        self.orders: list[ModelOrder] = []
        self.keys: dict[tuple[str, str], tuple[tuple, str]] = {}  # (user, key) -> (fingerprint, request id)
        self.outcomes: dict[str, int | None] = {}  # request id -> status; None: refused, nothing stored
        self.pending: dict[str, tuple[ModelOrder, Decision]] = {}  # model's request id -> what it will do
        self.waiting: dict[str, str] = {}  # the API's request id answered 202 -> the model's
        self.last_pending = ""
        self.stopped = False
        self.ids = itertools.count()

    @initialize()
    def orders_of_two_users(self) -> None:
        self.driver.expire_keys()  # a driver kept between examples holds no keys of the last
        self.orders = [ModelOrder(self.driver.new_order(owner), owner) for owner in OWNERS]

    # --- what the model expects of one request ---------------------------------

    def expect(self, o: ModelOrder, user: str, key: str | None, fingerprint: tuple, decide: Decision) -> int:
        if not acts_for(user, o.owner):
            return 403
        if key is not None:
            held = self.keys.get((user, key))
            if held is not None:
                held_print, rid = held
                if held_print != fingerprint:
                    return 422
                return self._replay(o, rid, decide)
        rid = f"r{next(self.ids)}"
        if key is not None:
            self.keys[(user, key)] = (fingerprint, rid)
        return self._fresh(o, rid, decide)

    def _fresh(self, o: ModelOrder, rid: str, decide: Decision) -> int:
        if o.status in FROZEN:  # answered by the API, nothing published or stored
            self.outcomes[rid] = None
            return decide(o)
        if self.stopped:
            self.pending[rid] = (o, decide)
            self.last_pending = rid
            return 202
        self.outcomes[rid] = status = decide(o)
        return status

    def _replay(self, o: ModelOrder, rid: str, decide: Decision) -> int:
        known = self.outcomes[rid]
        return decide(o) if known is None else known  # a refusal of a frozen order stays one

    def send(
        self, o: ModelOrder, user: str, method: str, path: str, body: Any, key: str | None, query: str = ""
    ) -> Reply:
        if self.stopped:
            query = "&".join(q for q in (query, "timeout=0.05") if q)
        return self.driver.call(user, method, path.format(id=o.id), body, key, query)

    def answered(self, reply: Reply, expected: int, what: str) -> None:
        assert reply.status == expected, f"{what}: answered {reply.status}, the model says {expected}: {reply.body}"
        if reply.status == 202:
            self.waiting[reply.body["requestId"]] = self.last_pending

    # --- rules ---------------------------------------------------------------------

    @rule(which=st.integers(0, 1), user=st.sampled_from(USERS), route=st.sampled_from(WHOLE_ROUTES),
          key=st.sampled_from(KEYS))  # fmt: skip
    def whole_refund(self, which: int, user: str, route: tuple, key: str | None) -> None:
        o = self.orders[which]
        key = None if self.stopped else key
        method, path, body = route
        expected = self.expect(o, user, key, ("refund", o.id), lambda m: decide_whole(m, user))
        self.answered(self.send(o, user, method, path, body, key), expected, f"{method} {path} by {user}")

    @rule(which=st.integers(0, 1), user=st.sampled_from(USERS), by_query=st.booleans(),
          product=st.sampled_from(["apple", "pear", "kiwi"]), quantity=st.integers(-1, 4),
          key=st.sampled_from(KEYS))  # fmt: skip
    def product_refund(
        self, which: int, user: str, by_query: bool, product: str, quantity: int, key: str | None
    ) -> None:
        o = self.orders[which]
        key = None if self.stopped else key
        if quantity < 1:
            expected = 400
        else:
            fingerprint = ("refund", o.id, product, quantity)
            expected = self.expect(o, user, key, fingerprint, lambda m: decide_product(m, user, product, quantity))
        if by_query:
            query = f"productId={product}&quantity={quantity}"
            reply = self.send(o, user, "GET", "/refundProductFromOrder/{id}", None, key, query)
        else:
            reply = self.send(
                o, user, "POST", "/{id}/refund-product", {"productId": product, "quantity": quantity}, key
            )
        self.answered(reply, expected, f"refund {quantity} {product} by {user} (query: {by_query})")

    @rule(which=st.integers(0, 1), user=st.sampled_from(USERS), bad=st.sampled_from(MALFORMED),
          key=st.sampled_from(KEYS))  # fmt: skip
    def malformed_refund(self, which: int, user: str, bad: tuple, key: str | None) -> None:
        o = self.orders[which]
        method, path, query, body = bad
        reply = self.send(o, user, method, path, body, key, query)
        assert reply.status == 400, f"{bad} by {user}: answered {reply.status}, must be 400: {reply.body}"

    @rule(which=st.integers(0, 1), user=st.sampled_from(USERS), changes=st.sampled_from(CHANGES),
          key=st.sampled_from(KEYS))  # fmt: skip
    def update(self, which: int, user: str, changes: dict, key: str | None) -> None:
        o = self.orders[which]
        key = None if self.stopped else key
        fingerprint = ("update", o.id, tuple(sorted(changes.items())))
        expected = self.expect(o, user, key, fingerprint, lambda m: decide_update(m, user, changes))
        self.answered(self.send(o, user, "PATCH", "/{id}", changes, key), expected, f"PATCH {changes} by {user}")

    @rule()
    def keys_expire(self) -> None:
        self.driver.expire_keys()
        self.keys.clear()

    @precondition(lambda self: self.driver.can_stop_flow and not self.stopped)
    @rule()
    def flow_stops(self) -> None:
        self.driver.stop_flow()
        self.stopped = True

    @precondition(lambda self: self.stopped)
    @rule(data=st.data())
    def flow_catches_up_in_any_order(self, data: st.DataObject) -> None:
        self.stopped = False
        decided_order: list[str] = []

        def order(rids: list[str]) -> list[str]:
            decided_order[:] = data.draw(st.permutations(rids))
            return decided_order

        self.driver.resume_flow(order)
        for rid in decided_order:
            o, decide = self.pending.pop(self.waiting[rid])
            self.outcomes[self.waiting[rid]] = decide(o)
        for rid, model_rid in self.waiting.items():
            reply = self.driver.call(ADMIN, "GET", f"/requests/{rid}", None, None)
            polled = reply.body["status"]
            status = 200 if polled == "applied" else REJECTION_STATUS.get(reply.body.get("reason", ""), -1)
            assert status == self.outcomes[model_rid], f"polled {reply.body}, the model says {self.outcomes[model_rid]}"
        self.waiting.clear()
        assert not self.pending, f"requests never decided: {self.pending}"

    # --- invariants ------------------------------------------------------------------

    def teardown(self) -> None:
        self.driver.close()

    @invariant()
    def stored_orders_equal_the_model(self) -> None:
        for o in self.orders:
            stored = self.driver.stored(o.id)
            refunded = {line.product_id: line.refunded_quantity for line in stored.lines}
            assert stored.status == o.status, f"{o.id} is {stored.status}, the model says {o.status}"
            assert stored.version == o.version, f"{o.id} is at version {stored.version}, the model {o.version}"
            assert refunded == {p: UNITS[p] - o.left[p] for p in UNITS}, f"units refunded {refunded}, model {o.left}"
            assert stored.refunded_amount == o.refunded, f"refunded {stored.refunded_amount} cents, model {o.refunded}"
            by_units = sum(line.price * line.refunded_quantity for line in stored.lines)
            assert stored.refunded_amount == by_units, f"refunded {stored.refunded_amount} cents != {by_units}"
