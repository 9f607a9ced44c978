"""Money stays right while clients retry at once and processes die: a Jepsen-style
test (``tests/integration/jepsen.py``, checked by ``tests/money_checker.py``).

Eight or more clients (``SOAK_CLIENTS``) send whole and product refunds and updates
with Idempotency-Keys for ``SOAK_SECONDS`` (60 here; ``make soak SECONDS=600``),
retrying each on a 202, a 5xx or a dropped connection until it is answered; some
keys are sent by two clients at once, some reused with another body, some reused
after their day. Meanwhile payments keep coming (some twice), and a nemesis, every
few seconds, kills the flow or an API process (SIGKILL; a supervisor restarts them),
pauses the database or the broker (SIGSTOP) for a few seconds, expires keys, and
fires every fault point of ``shared.faults``. The history and the verdict are
written to a file whose path a failure prints."""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path

import aiohttp
import pytest

from devkit.sandbox import Stack
from shared.faults import POINTS
from tests.integration.jepsen import CALL_TIMEOUT_S, ENV, KINDS, Run
from tests.integration.test_api_processes import ready
from tests.money_checker import check

SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))
CLIENTS = int(os.environ.get("SOAK_CLIENTS", "8"))


@pytest.mark.restarts_servers  # pauses the session's database and broker
@pytest.mark.timeout(SECONDS + 600)  # the run, then the clients' last retries and the settling
async def test_money_under_concurrent_retries_and_faults_matches_the_model(servers, tmp_path: Path):
    stack = Stack(servers.kafka_uri, servers.mongo_uri, tmp_path, env=ENV)
    run = Run(stack, servers, tmp_path, SECONDS, CLIENTS)
    out = tmp_path / "money-history.json"
    done = asyncio.Event()
    try:
        run.start()
        supervisor = asyncio.create_task(run.supervisor(done))
        await run.make_orders()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT_S)) as session:
            await asyncio.gather(*(ready(session, base) for base in run.bases))
            end = time.monotonic() + SECONDS
            await asyncio.gather(
                run.nemesis(end),
                run.payments(end, random.Random(run.seed)),
                *(run.client(i, session, end) for i in range(CLIENTS)),
            )
        await asyncio.to_thread(run.settle)
        records, orders, keys = await asyncio.to_thread(run.stored)
        verdict = check(run.history, records, orders, keys)
        run.write(out, verdict)
        done.set()
        await supervisor
    finally:
        done.set()
        stack.close()
    print(f"\nmoney under faults: {verdict.counts}, fired {dict(run.fired)}, indeterminate {verdict.indeterminate}")
    assert verdict.ok, f"{len(verdict.anomalies)} anomalies (history and verdict: {out}): {verdict.anomalies[:10]}"
    missing = [k for k in [*KINDS, *(f"fault:{p}" for p in POINTS)] if not run.fired[k]]
    assert not missing, f"faults never fired: {missing} (history: {out})"
    assert verdict.counts["ops-conflict"] and verdict.counts["ops-renewed"] and verdict.counts["ops-twin"], (
        verdict.counts
    )
