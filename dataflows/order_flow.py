"""The order dataflow: payments and requests in, orders to Mongo, events to Kafka.

    python -m bytewax.run "dataflows.main:get_flow()"            # config from env / .env
    python -m bytewax.run "dataflows.main:get_flow()" -w 2       # two workers
    python -m bytewax.run "dataflows.main:get_flow()" -r DIR -s 5 -b 0   # with recovery

``build_flow`` joins the steps: ``triage`` (messages to commands or dead letters),
``load`` and ``orders`` (``order_state``: each order's state, decided by the pure
core), and one sink. ``dataflows.main`` wires it to the servers in the settings.

Every decided request leaves a record (``shared.storage``), kept for the life of
the order; the load step looks up the records of each batch's requests (one query
a batch), so a request already decided, however long ago, yields the events it
yielded the first time, with the same ids, and changes nothing: a replay from any
offset is harmless. One sink writes each batch in this order: orders, records,
then Kafka (``dataflows.store_then_publish`` says why).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from bytewax.inputs import Source
from bytewax.outputs import Sink

from dataflows.order_state import HeldOrders, OrderLoader, OrderLogic, attach_stored
from dataflows.triage import PaymentCompleter, Raw, triage_messages
from shared.domain.policy import NO_POLICY, Policy
from shared.step import Writes
from shared.topics import Topics

FLOW_ID = "orders"
INPUT_STEP = f"{FLOW_ID}.in"  # the step whose snapshots hold the Kafka resume points


def _utcnow() -> datetime:
    return datetime.now(UTC)


def build_flow(
    source: Source[Raw],
    sink: Sink[Writes],
    loader: OrderLoader,
    topics: Topics,
    *,
    completer: PaymentCompleter | None = None,
    idle: timedelta = timedelta(seconds=60),
    clock: Callable[[], datetime] = _utcnow,
    policy: Policy = NO_POLICY,
) -> Dataflow:
    flow = Dataflow(FLOW_ID)
    raw = op.input(INPUT_STEP.removeprefix(f"{FLOW_ID}."), flow, source)
    triaged = triage_messages("triage", raw, topics, completer)
    held = HeldOrders()
    keyed = op.flat_map_batch("load", triaged.oks, lambda batch: attach_stored(loader, held, batch))
    writes = op.stateful("orders", keyed, lambda _resume: OrderLogic(topics, idle, clock, loader, held, policy))
    letters = op.map("letters", triaged.errs, Writes.of_letter)
    op.output("store-then-publish", op.merge("all-effects", op.key_rm("unkey", writes), letters), sink)
    return flow
