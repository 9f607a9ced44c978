"""Stop-start rescaling while input keeps arriving: 1 process, then 2, 3 and 1 again,
each ended by kill -9, all on one recovery store; the result equals a reference run."""

from __future__ import annotations

import signal
import threading
from collections import defaultdict
from functools import partial
from pathlib import Path

from bytewax.recovery import init_db_dir

from devkit.sandbox import Stack
from devkit.servers import free_port
from ops.cluster import Backoff, ClusterPlan, Supervisor, local_addresses
from shared.topics import Topics
from tests.integration.scenario import Scenario, build
from tests.integration.test_faults import assert_matches_core, settle

CHUNKS = 8
RECOVERY_PARTITIONS = 4


def one_ordering(scenario: Scenario) -> Scenario:
    """Refunds only (one topic, keyed by order: each order's requests keep one order in
    every run), with times in the messages themselves, so a second run on the same
    input stores byte-identical documents. Updates, on a second topic, would interleave
    with refunds differently in each run (the final state would agree, revisions not)."""
    scenario.updates = []
    for i, body in enumerate(scenario.payments):
        body["occurredAt"] = f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z"
    for i, body in enumerate(scenario.refunds + scenario.updates):
        body["requestedAt"] = f"2026-01-02T00:{i // 60 % 60:02d}:{i % 60:02d}Z"
    return scenario


def requests_of(scenario: Scenario, order_ids: set[str], topics: Topics) -> list[tuple[str, dict]]:
    chosen = [(topics.refund_request.name, r) for r in scenario.refunds if r["orderId"] in order_ids]
    return chosen + [(topics.order_update_request.name, u) for u in scenario.updates if u["orderId"] in order_ids]


def feed(stack: Stack, scenario: Scenario, chunks: int, errors: list[BaseException]) -> None:
    """A chunk's payments, then (once their orders are stored) the chunk's requests, so
    each request meets its order however the topics interleave."""
    try:
        ids = scenario.order_ids
        for c in range(chunks):
            payments = scenario.payments[c::chunks]
            chunk_ids = ids[c::chunks]
            stack.produce(stack.topics.payment_accepted.name, [(p["paymentId"], p) for p in payments])
            stack.wait_for(
                partial(_all_stored, stack, chunk_ids),
                180,
                f"chunk {c}'s orders",
                interval=0.3,
            )
            for topic, body in requests_of(scenario, set(chunk_ids), stack.topics):
                stack.produce(topic, [(body["orderId"], body)])
    except BaseException as exc:  # the main thread reports it
        errors.append(exc)


def progressed(stack: Stack, since: int) -> bool:
    return stack.records.estimated_document_count() + stack.orders.estimated_document_count() > since


def _progressed_or_done(stack: Stack, since: int, producer: threading.Thread) -> bool:
    return progressed(stack, since) or not producer.is_alive()


def _all_stored(stack: Stack, ids: list[str]) -> bool:
    return stack.orders.count_documents({"_id": {"$in": ids}}) == len(ids)


def cluster(stack: Stack, recovery: Path, processes: int) -> Supervisor:
    addresses = local_addresses(processes, free_port) if processes > 1 else ()
    plan = ClusterPlan(addresses, tuple(range(processes)), 1, recovery, snapshot_s=1)
    supervisor = Supervisor(plan, stack.env, Backoff(first=0.2), log_dir=stack.workdir / f"cluster-{processes}")
    supervisor.start()
    return supervisor


def test_rescaling_1_2_3_1_with_kill_9_loses_and_doubles_nothing(stack: Stack, servers, tmp_path):
    scenario = one_ordering(build(480, seed=21, prefix="rs"))
    recovery = tmp_path / "recovery"
    recovery.mkdir()
    init_db_dir(recovery, RECOVERY_PARTITIONS)
    errors: list[BaseException] = []
    producer = threading.Thread(target=feed, args=(stack, scenario, CHUNKS, errors), daemon=True)
    producer.start()
    for processes in (1, 2, 3):
        supervisor = cluster(stack, recovery, processes)
        seen = stack.records.estimated_document_count() + stack.orders.estimated_document_count()
        stack.wait_for(partial(_progressed_or_done, stack, seen + 60, producer), 120, "progress")
        victim = supervisor.procs[processes - 1]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        supervisor.stop()
        assert not errors, errors
    final = cluster(stack, recovery, 1)
    try:
        producer.join(300)
        assert not errors, errors
        assert not producer.is_alive(), "the producer did not finish"
        settle(stack, scenario)
    finally:
        final.stop()
    assert_matches_core(stack, scenario)
    assert_one_decision_per_event_id(stack, len(scenario.events))
    assert_same_documents_as_a_reference_run(stack, scenario, servers, tmp_path / "reference")


def test_the_supervisor_restarts_the_whole_cluster_when_one_process_is_killed(stack: Stack, tmp_path):
    scenario = build(60, seed=22, prefix="sv")
    supervisor = cluster(stack, tmp_path / "recovery-sv", 2)
    try:
        stack.produce(stack.topics.payment_accepted.name, [(p["paymentId"], p) for p in scenario.payments[:30]])
        stack.wait_for(lambda: stack.orders.count_documents({}) == 30, 120, "the first orders")
        first = supervisor.procs[1]
        first.send_signal(signal.SIGKILL)
        stack.wait_for(lambda: _restarted(supervisor, first), 60, "a restart")
        stack.produce(stack.topics.payment_accepted.name, [(p["paymentId"], p) for p in scenario.payments[30:]])
        stack.wait_for(lambda: stack.orders.count_documents({}) == 60, 120, "the orders after the restart")
    finally:
        supervisor.stop()
    assert supervisor.restarts == 1


def _restarted(supervisor: Supervisor, killed) -> bool:
    supervisor.tick()
    procs = list(supervisor.procs.values())
    return killed not in procs and all(p.poll() is None for p in procs)


def assert_one_decision_per_event_id(stack: Stack, expected: int) -> None:
    """An event id may repeat (at-least-once), but always with the same content; read
    until every id is in and a poll brings nothing more."""
    last = [-1]

    def read_all(ms: list[dict]) -> bool:
        done = len({m["eventId"] for m in ms}) >= expected and len(ms) == last[0]
        last[0] = len(ms)
        return done

    events = stack.consume(stack.topics.order_events.name, read_all, timeout=60)
    contents: dict[str, set[str]] = defaultdict(set)
    per_request: dict[tuple[str, str], set[str]] = defaultdict(set)
    for m in events:
        contents[m["eventId"]].add(repr(sorted(m.items())))
        if m.get("requestId"):
            per_request[(m["orderId"], m["requestId"])].add(m["eventId"])
    assert [e for e, c in contents.items() if len(c) > 1] == []
    assert [r for r, ids in per_request.items() if len(ids) > 1] == []


def assert_same_documents_as_a_reference_run(stack: Stack, scenario: Scenario, servers, workdir: Path) -> None:
    reference = Stack(servers.kafka_uri, servers.mongo_uri, workdir)
    try:
        reference.start_flow()
        reference.produce(reference.topics.payment_accepted.name, [(p["paymentId"], p) for p in scenario.payments])
        ids = scenario.order_ids
        reference.wait_for(lambda: reference.orders.count_documents({}) == len(ids), 180, "the reference's orders")
        for topic, body in requests_of(scenario, set(ids), reference.topics):
            reference.produce(topic, [(body["orderId"], body)])
        settle(reference, scenario)
        assert _documents(stack) == _documents(reference)
    finally:
        reference.close()


def _documents(stack: Stack) -> tuple[dict, dict]:
    """Orders (without ``pending``, which holds whatever one batch wrote) and records."""
    orders = {d["_id"]: d for d in stack.orders.find({}, {"pending": 0})}
    records = {d["_id"]: d for d in stack.records.find({})}
    return orders, records
