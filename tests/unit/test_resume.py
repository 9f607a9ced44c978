"""A recovery store resumes only against the input it was made for."""

from __future__ import annotations

from dataflows.resume import NO_TOPIC_ID, Fingerprint, ResumePoint, as_resume_point, fingerprint, mismatch

LAST = fingerprint(9, 1_700_000_000_000, b"key", b"value")


class Facts:
    def __init__(self, topic_id: str | None, low: int = 0, high: int = 10, at: Fingerprint | None = LAST):
        self._topic_id, self._low, self._high, self._at = topic_id, low, high, at
        self.fetched: list[int] = []

    def topic_id(self, topic: str) -> str | None:
        return self._topic_id

    def watermarks(self, topic: str, partition: int) -> tuple[int, int]:
        return self._low, self._high

    def fingerprint_at(self, topic: str, partition: int, offset: int) -> Fingerprint | None:
        self.fetched.append(offset)
        return self._at


def test_the_same_topic_id_resumes():
    assert mismatch(Facts("id-1"), "t", 0, ResumePoint(10, "id-1", LAST)) is None


def test_another_topic_id_is_refused():
    reason = mismatch(Facts("id-2"), "t", 3, ResumePoint(10, "id-1", LAST))
    assert reason == "t partition 3 has topic id id-2, the store was made against topic id id-1"


def test_without_topic_ids_an_offset_past_the_end_is_refused():
    reason = mismatch(Facts(None, high=4), "t", 0, ResumePoint(10, None, LAST))
    assert reason == "t partition 0 ends at offset 4, the store resumes at offset 10"


def test_with_the_same_topic_id_the_end_offset_is_not_trusted():
    # Tansu reports the last batch's first offset + 1 as a partition's end.
    assert mismatch(Facts("id-1", high=4), "t", 0, ResumePoint(10, "id-1", LAST)) is None


def test_without_topic_ids_another_message_at_the_last_offset_is_refused():
    other = fingerprint(9, 1_700_000_000_000, b"key", b"other value")
    reason = mismatch(Facts(NO_TOPIC_ID, at=other), "t", 0, ResumePoint(10, NO_TOPIC_ID, LAST))
    assert reason == "t partition 0 holds another message at offset 9 than the one the store last read"


def test_without_topic_ids_the_same_last_message_resumes():
    assert mismatch(Facts(None), "t", 0, ResumePoint(10, None, LAST)) is None


def test_with_topic_ids_no_message_is_fetched():
    facts = Facts("id-1")
    mismatch(facts, "t", 0, ResumePoint(10, "id-1", LAST))
    assert facts.fetched == []


def test_a_last_message_removed_by_retention_is_not_checked():
    facts = Facts(None, low=10, high=12)
    assert mismatch(facts, "t", 0, ResumePoint(10, None, LAST)) is None
    assert facts.fetched == []


def test_the_fingerprint_tells_keys_from_values():
    assert fingerprint(0, 1, b"ab", b"c") != fingerprint(0, 1, b"a", b"bc")


def test_a_bare_offset_is_a_resume_point_without_proof():
    assert as_resume_point(7) == ResumePoint(7, None, None)
