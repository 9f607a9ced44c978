"""Where each input partition resumes, and the proof that it is the same partition.

A bytewax recovery store keeps the Kafka offset each input partition reached. Those
offsets mean something only on the topic they were read from: after a broker that
keeps nothing restarts (Tansu), or a topic is deleted and made again, the same name
holds other messages and resuming at the old offsets would skip input silently.
So each partition's snapshot is a ``ResumePoint`` that also records the topic's id
and the last message read, and a resume is refused when the broker disagrees:

- the topic id differs (brokers that report ids: Apache Kafka, Tansu);
- on brokers without topic ids: the resume offset lies past the partition's end,
  or the last message read is no longer the message at its offset.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple, Protocol

NO_TOPIC_ID = "AAAAAAAAAAAAAAAAAAAAAA"  # the all-zero Uuid: a broker that reports no ids


class Fingerprint(NamedTuple):
    """The last message read from a partition, as much as is needed to know it again."""

    offset: int
    timestamp: int
    digest: str


class ResumePoint(NamedTuple):
    offset: int  # the next offset to read
    topic_id: str | None
    last: Fingerprint | None


class ResumeMismatch(RuntimeError):
    """The recovery store was made against other input than the broker now has."""


def fingerprint(offset: int, timestamp: int, key: bytes | None, value: bytes | None) -> Fingerprint:
    hashed = hashlib.blake2b(digest_size=12)
    hashed.update(len(key or b"").to_bytes(8, "big"))
    hashed.update(key or b"")
    hashed.update(value or b"")
    return Fingerprint(offset, timestamp, hashed.hexdigest())


class PartitionFacts(Protocol):
    """What the broker says about a partition now."""

    def topic_id(self, topic: str) -> str | None: ...

    def watermarks(self, topic: str, partition: int) -> tuple[int, int]: ...

    def fingerprint_at(self, topic: str, partition: int, offset: int) -> Fingerprint | None: ...


def as_resume_point(state: ResumePoint | int | None) -> ResumePoint | None:
    """Stores made before resume points held bare offsets."""
    if state is None or isinstance(state, ResumePoint):
        return state
    return ResumePoint(int(state), None, None)


def mismatch(facts: PartitionFacts, topic: str, partition: int, point: ResumePoint) -> str | None:
    """Why ``point`` cannot be resumed on the broker's ``topic`` / ``partition``, or None."""
    where = f"{topic} partition {partition}"
    now_id = facts.topic_id(topic)
    if point.topic_id and now_id and NO_TOPIC_ID not in (point.topic_id, now_id):
        if point.topic_id != now_id:
            return f"{where} has topic id {now_id}, the store was made against topic id {point.topic_id}"
        # The same topic. (Its end offset is not asked: Tansu reports the last batch's
        # first offset + 1 there, short of the true end.)
        return None
    low, high = facts.watermarks(topic, partition)
    if point.offset > high:
        return f"{where} ends at offset {high}, the store resumes at offset {point.offset}"
    last = point.last
    if last is not None and low <= last.offset < high:
        seen = facts.fingerprint_at(topic, partition, last.offset)
        if seen is not None and seen != last:
            return f"{where} holds another message at offset {last.offset} than the one the store last read"
    return None


def mismatch_error(reason: str, recovery_dir: str | None = None) -> ResumeMismatch:
    where = recovery_dir or "DIR"
    return ResumeMismatch(
        f"the recovery store does not match the input topics: {reason}. "
        "Its offsets point into input that no longer exists (the broker restarted without its data, "
        "or the topic was deleted and made again), so resuming would skip messages. "
        "To start over from the beginning of the topics (replays are harmless), make the store again: "
        f"rm -r {where} && mkdir {where} && python -m bytewax.recovery {where} N "
        "(N: at least the number of workers). make run does this by itself."
    )
