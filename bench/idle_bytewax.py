"""B7's baseline: a bytewax dataflow with nothing to do, the floor bytewax itself sets.

    python -m bytewax.run bench.idle_bytewax:flow

One worker, a source whose partition asks to be woken in an hour, a sink that
prints. What it costs idle is bytewax's worker loop (it parks at most 1 ms at a
time in bytewax 0.21), not anything of ours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import bytewax.operators as op
from bytewax.connectors.stdio import StdOutSink
from bytewax.dataflow import Dataflow
from bytewax.inputs import DynamicSource, StatelessSourcePartition

ASLEEP = timedelta(hours=1)


class Silent(StatelessSourcePartition[str]):
    def next_batch(self) -> list[str]:
        return []

    def next_awake(self) -> datetime:
        return datetime.now(UTC) + ASLEEP


class NothingSource(DynamicSource[str]):
    def build(self, step_id: str, worker_index: int, worker_count: int) -> Silent:
        return Silent()


flow = Dataflow("idle-bytewax")
op.output("out", op.input("in", flow, NothingSource()), StdOutSink())
