"""Read what a bytewax recovery store would resume the flow's input at, and check it.

``make run`` keeps its recovery store between runs only while the store matches
the input topics the broker has now; otherwise it makes a fresh one (the flow
itself refuses to resume on a mismatch, see ``dataflows.resume``). The store is
a directory of SQLite files whose ``snaps`` table holds each step's pickled
state; this reads the input step's newest one per Kafka partition.
"""

from __future__ import annotations

import pickle
import shutil
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from bytewax.recovery import init_db_dir

from dataflows.kafka_io import BrokerFacts
from dataflows.order_flow import INPUT_STEP
from dataflows.resume import PartitionFacts, ResumePoint, as_resume_point, mismatch
from shared.kafka_config import KafkaConnection

NEWEST_SNAPSHOTS = """
    SELECT state_key, ser_change FROM snaps AS s
    WHERE step_id = ? AND ser_change IS NOT NULL
      AND snap_epoch = (SELECT MAX(snap_epoch) FROM snaps WHERE step_id = s.step_id AND state_key = s.state_key)
"""


def resume_points(recovery: Path, step_id: str = INPUT_STEP) -> dict[str, ResumePoint]:
    """Kafka partition ("<partition>-<topic>") -> where the store resumes it."""
    points: dict[str, ResumePoint] = {}
    for part in sorted(recovery.glob("part-*.sqlite3")):
        with sqlite3.connect(f"file:{part}?mode=ro", uri=True) as db:
            for state_key, blob in db.execute(NEWEST_SNAPSHOTS, (step_id,)):
                point = as_resume_point(pickle.loads(blob))
                if point is not None:
                    points[state_key] = point
    return points


def store_mismatch(recovery: Path, facts: PartitionFacts, topics: Sequence[str]) -> str | None:
    """Why the store cannot resume on the broker's ``topics``, or None."""
    for part, point in resume_points(recovery).items():
        index, topic = part.split("-", 1)
        if topic in topics:
            reason = mismatch(facts, topic, int(index), point)
            if reason is not None:
                return reason
    return None


def ready_store(
    recovery: Path,
    partitions: int,
    kafka: KafkaConnection,
    topics: Sequence[str],
    fresh: bool,
    facts: PartitionFacts | None = None,
) -> str:
    """Make the store usable for this broker; says what was done."""
    if not has_partitions(recovery):
        said = "made"
    elif fresh:
        said = "made fresh for the embedded broker, which starts empty"
    else:
        reason = store_mismatch(recovery, facts or BrokerFacts(kafka, list(topics)), topics)
        if reason is None:
            return "kept: it matches the input topics"
        said = f"made fresh, the old one did not match the input topics ({reason})"
    _empty(recovery)
    init_db_dir(recovery, partitions)
    return said


def has_partitions(recovery: Path) -> bool:
    return any(recovery.glob("part-*.sqlite3"))


def _empty(recovery: Path) -> None:
    """The directory, emptied (it may be a mount point, which cannot be removed)."""
    recovery.mkdir(parents=True, exist_ok=True)
    for child in recovery.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
