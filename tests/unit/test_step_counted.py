"""What a step counts (the flow's order_flow_commands_total) and what a dead letter
counts (order_flow_dead_letters_total), as values the sink reads: no dict of a record
or a letter is read to count it."""

from __future__ import annotations

from shared.schemas.dead_letters import DeadReason, dead_letter
from shared.step import Writes, step
from shared.topics import DEFAULT_TOPICS
from tests.unit.builders import STRANGER, pay, refund_some


def test_a_payment_counts_one_order_made():
    assert step(None, pay(), None).counted == (("payment", "applied"),)


def test_a_payment_delivered_again_counts_again_as_its_events_are_sent_again():
    order = step(None, pay(), None).order
    assert step(order, pay(), None).counted == (("payment", "applied"),)


def test_a_decided_request_counts_its_kind_and_outcome():
    order = step(None, pay(), None).order
    assert step(order, refund_some("r-1", "apple", 1), None).counted == (("refund", "applied"),)


def test_a_rejected_request_counts_as_rejected():
    order = step(None, pay(), None).order
    assert step(order, refund_some("r-2", "apple", 1, by=STRANGER), None).counted == (("refund", "rejected"),)


def test_a_request_answered_from_its_record_counts_nothing_again():
    order = step(None, pay(), None).order
    first = step(order, refund_some("r-3", "apple", 1), None)
    assert first.outcome is not None
    assert step(first.order, refund_some("r-3", "apple", 1), first.outcome.outcome).counted == ()


def test_a_dead_letter_counts_its_reason_and_source():
    letter = dead_letter(DEFAULT_TOPICS, "refund-request", 0, 9, b"k", b"{", "not JSON", DeadReason.INVALID)
    assert Writes.of_letter(letter).dead == (("invalid", "refund-request"),)


def test_a_dead_letter_of_no_known_topic_counts_an_empty_source():
    letter = dead_letter(DEFAULT_TOPICS, None, None, None, None, b"x", "kafka error", DeadReason.KAFKA_ERROR)
    assert Writes.of_letter(letter).dead == (("kafka-error", ""),)
