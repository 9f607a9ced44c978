"""make run keeps a recovery store only while it matches the input topics."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
from bytewax.recovery import RecoveryConfig
from bytewax.testing import TestingSink, run_main

from dataflows.order_flow import FLOW_ID
from dataflows.resume import Fingerprint, ResumePoint
from ops.recovery_store import ready_store, resume_points
from shared.kafka_config import KafkaConnection

POINT = ResumePoint(3, "id-1", Fingerprint(2, 1_700_000_000_000, "abc"))


class _Part(StatefulSourcePartition):
    def __init__(self) -> None:
        self._left = 3

    def next_batch(self) -> list[int]:
        if not self._left:
            raise StopIteration
        self._left -= 1
        return [self._left]

    def snapshot(self) -> ResumePoint:
        return POINT


class _Source(FixedPartitionedSource):
    def list_parts(self) -> list[str]:
        return ["0-payments"]

    def build_part(self, step_id: str, for_part: str, resume_state: object) -> _Part:
        return _Part()


def store_written_by_bytewax(tmp_path: Path) -> Path:
    """A real store, snapshots written by bytewax itself from a flow shaped like ours."""
    from bytewax.recovery import init_db_dir

    store = tmp_path / "recovery"
    store.mkdir()
    init_db_dir(store, 1)
    flow = Dataflow(FLOW_ID)
    op.output("out", op.input("in", flow, _Source()), TestingSink([]))
    run_main(flow, epoch_interval=timedelta(0), recovery_config=RecoveryConfig(str(store)))
    return store


class Facts:
    def __init__(self, topic_id: str):
        self._topic_id = topic_id

    def topic_id(self, topic: str) -> str | None:
        return self._topic_id

    def watermarks(self, topic: str, partition: int) -> tuple[int, int]:
        return 0, 10

    def fingerprint_at(self, topic: str, partition: int, offset: int) -> Fingerprint | None:
        return None


def test_the_input_steps_resume_points_are_read_from_bytewaxs_store(tmp_path):
    assert resume_points(store_written_by_bytewax(tmp_path)) == {"0-payments": POINT}


def test_a_store_that_matches_is_kept(tmp_path):
    store = store_written_by_bytewax(tmp_path)
    said = ready_store(store, 1, KafkaConnection(), ("payments",), fresh=False, facts=Facts("id-1"))
    assert said == "kept: it matches the input topics"
    assert resume_points(store) == {"0-payments": POINT}


def test_a_store_made_against_another_topic_is_made_fresh(tmp_path):
    store = store_written_by_bytewax(tmp_path)
    said = ready_store(store, 1, KafkaConnection(), ("payments",), fresh=False, facts=Facts("id-2"))
    assert said.startswith("made fresh, the old one did not match the input topics (payments partition 0 has topic id")
    assert resume_points(store) == {}


def test_an_embedded_broker_always_gets_a_fresh_store(tmp_path):
    store = store_written_by_bytewax(tmp_path)
    said = ready_store(store, 1, KafkaConnection(), ("payments",), fresh=True, facts=Facts("id-1"))
    assert said == "made fresh for the embedded broker, which starts empty"
    assert resume_points(store) == {}
    assert (store / "part-0.sqlite3").is_file()


def test_an_empty_directory_gets_partitions_and_stays_where_it_is(tmp_path):
    store = tmp_path / "mounted"
    store.mkdir()  # a volume's mount point: it exists, and cannot be removed
    said = ready_store(store, 4, KafkaConnection(), ("payments",), fresh=False, facts=Facts("id-1"))
    assert said == "made"
    assert sorted(p.name for p in store.iterdir()) == [f"part-{i}.sqlite3" for i in range(4)]
