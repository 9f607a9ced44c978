"""A Jepsen-style checker of the money a concurrent, faulty run moved: a history of
every attempt clients made, and what the servers hold at the end, checked against
the plain model of ``tests/order_model.py``.

An *operation* is one request a client wants made: a whole refund, a product refund
or an update of one order, under one Idempotency-Key. Its *attempts* are each HTTP
call for it: the first and every retry (on a 202, a 5xx or a dropped connection),
with the same key and body. An attempt's answer is *final* when it is none of those.
Some operations are made on purpose to test keys: ``conflict`` reuses a key still
held by an earlier operation with another body (its answers must be 422, naming the
earlier request); ``renewed`` reuses a key whose day is over (a new request).

What must hold (each failure is an anomaly, named with the operation):
- one request per key: every attempt of an operation that names a request names the same one;
- answers agree: every final answer of an operation has the same status, reason and request id;
- the answer is the stored outcome: 200 when its record says applied, the rejection's
  status when it says rejected; a 409 with no record only for an order frozen for good;
  never a 409 for a client's own applied request;
- each operation applied at most once, and every stored record made by some operation;
- the stored orders are the model's: each order's records, replayed in their order
  through the model, are decided as the model decides, and leave the order's status,
  units refunded per line and ``refundedAmount`` as the model's; nothing refunded
  beyond what was paid;
- every payment made one order, and only one.

Operations never answered are *indeterminate*: applied or not, they are checked as
the rest (at most once, as the model decides), and the verdict names them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from http_api.mutations import REJECTION_STATUS
from tests.order_model import PRICES, TOTAL, UNITS, ModelOrder, decide_product, decide_update, decide_whole

FINAL_EXCLUDED = {0, 202}  # a dropped connection, no outcome in time; and every 5xx
FROZEN = {"Refunded", "Cancelled"}


@dataclass(frozen=True)
class Op:
    id: str
    user: str
    key: str
    kind: str  # "whole", "product" or "update"
    order_id: str
    body: dict[str, Any]
    reuses: str | None = None  # the operation whose key this one reuses
    purpose: str = "new"  # "new", "twin" (sent by two clients at once), "conflict", "renewed"


@dataclass(frozen=True)
class Attempt:
    op: str
    client: str
    started: float
    ended: float
    status: int  # 0: the connection dropped or the client gave up waiting
    request_id: str | None = None
    reason: str | None = None


def is_final(status: int) -> bool:
    return status not in FINAL_EXCLUDED and status < 500


@dataclass(frozen=True)
class Record:
    request_id: str
    order_id: str
    seq: int
    status: str  # "applied" or "rejected"
    reason: str | None


@dataclass(frozen=True)
class StoredOrder:
    id: str
    payment_id: str
    status: str
    refunded_amount: int  # cents
    refunded_units: dict[str, int]


@dataclass
class History:
    ops: list[Op] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # the nemesis' actions, for the reader
    payments: list[str] = field(default_factory=list)  # payment ids produced (some twice)

    def to_json(self) -> dict[str, Any]:
        return {
            "ops": [asdict(o) for o in self.ops],
            "attempts": [asdict(a) for a in self.attempts],
            "events": self.events,
            "payments": self.payments,
        }


@dataclass
class Verdict:
    anomalies: list[str] = field(default_factory=list)
    indeterminate: dict[str, str] = field(default_factory=dict)  # op id -> "applied" / "not applied"
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.anomalies


def check(
    history: History,
    records: list[Record],
    orders: dict[str, StoredOrder],
    key_requests: dict[tuple[str, str], str] | None = None,
) -> Verdict:
    """``key_requests``: (user, key) -> the request id its stored document holds, for
    operations no answer named a request of."""
    verdict = Verdict()
    ops = {o.id: o for o in history.ops}
    tried: dict[str, list[Attempt]] = defaultdict(list)
    for a in history.attempts:
        tried[a.op].append(a)
    rids = _request_ids(ops, tried, key_requests or {}, verdict)
    by_rid = {rid: op_id for op_id, found in rids.items() for rid in found}
    record_of: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        record_of[r.request_id].append(r)
    for op in history.ops:
        _check_op(op, tried[op.id], rids, record_of, orders, verdict)
    _check_records(records, by_rid, rids, verdict)
    _check_model(history, records, orders, by_rid, verdict)
    _check_payments(history.payments, orders, verdict)
    return verdict


def _request_ids(
    ops: dict[str, Op], tried: dict[str, list[Attempt]], key_requests: dict[tuple[str, str], str], verdict: Verdict
) -> dict[str, set[str]]:
    """Each operation's request ids (a conflict's 422 names another's: not its own)."""
    found: dict[str, set[str]] = {}
    for op_id, op in ops.items():
        own = {a.request_id for a in tried[op_id] if a.request_id and op.purpose != "conflict"}
        if not own and op.purpose != "conflict" and (op.user, op.key) in key_requests:
            own = {key_requests[(op.user, op.key)]}
        found[op_id] = own
        if len(own) > 1:
            verdict.anomalies.append(f"{op_id}: one key, {len(own)} request ids: {sorted(own)}")
    for op_id, op in ops.items():
        if op.purpose == "renewed" and op.reuses and found[op_id] & found.get(op.reuses, set()):
            verdict.anomalies.append(f"{op_id}: a key past its day answered with {op.reuses}'s old request")
    return found


def _check_op(
    op: Op,
    attempts: list[Attempt],
    rids: dict[str, set[str]],
    record_of: dict[str, list[Record]],
    orders: dict[str, StoredOrder],
    verdict: Verdict,
) -> None:
    finals = [a for a in attempts if is_final(a.status)]
    verdict.counts["attempts"] += len(attempts)
    verdict.counts[f"ops-{op.purpose}"] += 1
    if op.purpose == "conflict":
        _check_conflict(op, finals, rids, verdict)
        return
    answers = {(a.status, a.reason, a.request_id) for a in finals}
    if len(answers) > 1:
        verdict.anomalies.append(f"{op.id}: final answers disagree: {sorted(answers, key=str)}")
    records = [r for rid in sorted(rids[op.id]) for r in record_of.get(rid, [])]
    applied = [r for r in records if r.status == "applied"]
    if len(applied) > 1:
        verdict.anomalies.append(f"{op.id}: applied {len(applied)} times")
    if not finals:
        verdict.indeterminate[op.id] = "applied" if applied else "not applied"
        return
    status, reason, _ = sorted(answers, key=str)[0]
    _check_answer(op, status, reason, records, orders, verdict)


def _check_conflict(op: Op, finals: list[Attempt], rids: dict[str, set[str]], verdict: Verdict) -> None:
    held = rids.get(op.reuses or "", set())
    for a in finals:
        if a.status != 422 or (held and a.request_id not in held):
            verdict.anomalies.append(
                f"{op.id}: a key held by {op.reuses} reused with another body answered {a.status} "
                f"naming {a.request_id}, not 422 naming {sorted(held)}"
            )
    if not finals:
        verdict.indeterminate[op.id] = "not applied"


def _check_answer(
    op: Op, status: int, reason: str | None, records: list[Record], orders: dict[str, StoredOrder], verdict: Verdict
) -> None:
    record = records[0] if records else None
    if record is None:
        frozen = orders.get(op.order_id) is not None and orders[op.order_id].status in FROZEN
        if status != 409 or not frozen:
            verdict.anomalies.append(f"{op.id}: answered {status} ({reason}), and no outcome is stored")
        return
    if record.status == "applied" and status != 200:
        verdict.anomalies.append(f"{op.id}: told {status} ({reason}) for its own applied request {record.request_id}")
    elif record.status == "rejected" and (status, reason) != (
        REJECTION_STATUS.get(record.reason or "", 409),
        record.reason,
    ):
        verdict.anomalies.append(f"{op.id}: told {status} ({reason}); its record says rejected, {record.reason}")


def _check_records(records: list[Record], by_rid: dict[str, str], rids: dict[str, set[str]], verdict: Verdict) -> None:
    verdict.counts["records"] = len(records)
    for rid, n in Counter(r.request_id for r in records).items():
        if n > 1:
            verdict.anomalies.append(f"request {rid} recorded {n} times")
    for r in records:
        if r.request_id not in by_rid:
            verdict.anomalies.append(f"request {r.request_id} on {r.order_id} was made by no operation")


def _check_model(
    history: History, records: list[Record], orders: dict[str, StoredOrder], by_rid: dict[str, str], verdict: Verdict
) -> None:
    ops = {o.id: o for o in history.ops}
    by_order: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_order[r.order_id].append(r)
    touched = {o.order_id for o in history.ops}
    for order_id in sorted(touched):
        stored = orders.get(order_id)
        if stored is None:
            verdict.anomalies.append(f"order {order_id}: requested, never stored")
            continue
        model = ModelOrder(order_id, owner="")
        for r in sorted(by_order[order_id], key=lambda r: r.seq):
            op = ops.get(by_rid.get(r.request_id, ""))
            if op is None:
                continue  # named by _check_records
            expected = _decide(model, op)
            told = 200 if r.status == "applied" else REJECTION_STATUS.get(r.reason or "", 409)
            if told != expected:
                verdict.anomalies.append(
                    f"{op.id}: decided {r.status} ({r.reason}) at {r.seq}; the model says {expected}"
                )
        _compare(order_id, model, stored, verdict)


def _decide(model: ModelOrder, op: Op) -> int:
    if op.kind == "whole":
        return decide_whole(model, op.user)
    if op.kind == "product":
        return decide_product(model, op.user, op.body["productId"], op.body["quantity"])
    return decide_update(model, op.user, op.body)


def _compare(order_id: str, model: ModelOrder, stored: StoredOrder, verdict: Verdict) -> None:
    units = {p: UNITS[p] - model.left[p] for p in UNITS}
    if (stored.status, stored.refunded_units, stored.refunded_amount) != (model.status, units, model.refunded):
        verdict.anomalies.append(
            f"order {order_id}: stored {stored.status}, units {stored.refunded_units}, {stored.refunded_amount} cents;"
            f" the model {model.status}, units {units}, {model.refunded} cents"
        )
    by_units = sum(PRICES[p] * n for p, n in stored.refunded_units.items())
    over = [p for p, n in stored.refunded_units.items() if n > UNITS[p]]
    if stored.refunded_amount > TOTAL or stored.refunded_amount != by_units or over:
        verdict.anomalies.append(f"order {order_id}: refunded {stored.refunded_amount} cents of {TOTAL} ({over})")


def _check_payments(payments: list[str], orders: dict[str, StoredOrder], verdict: Verdict) -> None:
    made = Counter(o.payment_id for o in orders.values())
    for payment_id in sorted(set(payments)):
        if made[payment_id] != 1:
            verdict.anomalies.append(f"payment {payment_id} made {made[payment_id]} orders")
    verdict.counts["payments"] = len(set(payments))
