"""No message stops the flow: each one becomes a command or a dead letter with its
reason, and the next valid message is applied."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest

from dataflows import triage
from shared import step as shared_step
from shared.domain.policy import NO_POLICY
from shared.ids import order_id_for_payment
from shared.schemas.dead_letters import MAX_DEAD_LETTER_BYTES
from shared.schemas.outputs import dumps
from tests.card_scan import cards_in
from tests.flowkit import TOPICS, message, payment, refund, run_flow

PAY = TOPICS.payment_accepted.name
REFUND = TOPICS.refund_request.name
YEAR_10000_MS = 253_402_300_800_000  # 10000-01-01T00:00:00Z


def stored_payments(run) -> list[str]:
    return sorted(d["paymentId"] for d in run.docs)


@pytest.mark.parametrize(
    "occurred_at",
    ["9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59.999999-00:01"],
)
def test_a_payment_time_outside_the_calendar_in_utc_is_dead_lettered_and_the_next_is_stored(occurred_at):
    run = run_flow([message(PAY, payment("edge", occurredAt=occurred_at), 0), message(PAY, payment("next"), 1)])
    assert stored_payments(run) == ["next"]
    (dead,) = run.dlq
    assert dead["reason"] == "invalid"
    assert "occurredAt" in dead["error"]


def test_a_kafka_timestamp_past_year_9999_counts_as_no_timestamp():
    late = replace(message(PAY, payment("late"), 0), timestamp=(1, YEAR_10000_MS * 1000))
    run = run_flow([late, message(PAY, payment("next"), 1)])
    assert stored_payments(run) == ["next"]
    assert "occurredAt: required" in run.dlq[0]["error"]


def test_a_kafka_timestamp_past_year_9999_is_no_matter_when_the_payment_has_its_own_time():
    late = replace(message(PAY, payment("late", occurredAt="2026-01-01T00:00:00Z"), 0), timestamp=(1, 2**63 - 1))
    run = run_flow([late])
    assert stored_payments(run) == ["late"]


def test_an_escaped_lone_surrogate_is_dead_lettered_not_raised_when_encoded():
    value = json.dumps(payment("x")).replace('"x"', '"\\ud800"', 1).encode()
    run = run_flow([message(PAY, value, 0), message(PAY, payment("next"), 1)])
    assert stored_payments(run) == ["next"]
    assert "surrogate" in run.dlq[0]["error"]


def test_a_bug_in_deciding_one_order_dead_letters_its_command_and_the_next_is_applied(monkeypatch):
    real = shared_step.handle
    doomed = order_id_for_payment("doomed")

    def buggy(order, command, recorded=None, policy=NO_POLICY):
        if command.order_id == doomed:
            raise ZeroDivisionError("a bug")
        return real(order, command, recorded, policy)

    monkeypatch.setattr(shared_step, "handle", buggy)
    run = run_flow([message(PAY, payment("doomed"), 0), message(PAY, payment("next"), 1)])
    assert stored_payments(run) == ["next"]
    (dead,) = run.dlq
    assert dead["reason"] == "internal-error"
    assert dead["error"] == "deciding failed: ZeroDivisionError: a bug"
    assert dead["offset"] == 0
    assert json.loads(dead["value"])["paymentId"] == "doomed"


def test_the_log_line_of_a_bug_in_deciding_names_the_order(monkeypatch, caplog):
    doomed = order_id_for_payment("doomed")

    def buggy(order, command, recorded=None, policy=NO_POLICY):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(shared_step, "handle", buggy)
    run_flow([message(PAY, payment("doomed"), 0)])
    (line,) = [r for r in caplog.records if "dead-lettered" in r.getMessage()]
    assert line.orderId == doomed


def test_a_bug_in_reading_a_message_dead_letters_it(monkeypatch):
    def buggy(kind, value, timestamp):
        raise KeyError("oops")

    monkeypatch.setattr(triage, "parse_message", buggy)
    run = run_flow([message(PAY, payment("a"), 0)])
    assert run.dlq[0]["reason"] == "internal-error"
    assert run.dlq[0]["error"].startswith("reading failed: KeyError")


def test_a_completer_that_raises_dead_letters_its_payments():
    class Broken:
        def complete(self, refs):
            raise RuntimeError("payment service client bug")

    run = run_flow([message(PAY, {"paymentId": "ref"}, 0), message(PAY, payment("next"), 1)], completer=Broken())
    assert stored_payments(run) == ["next"]
    assert run.dlq[0]["reason"] == "internal-error"


def test_a_refund_of_an_order_after_a_failed_decision_still_applies(monkeypatch):
    real = shared_step.handle
    calls = {"n": 0}

    def once_buggy(order, command, recorded=None, policy=NO_POLICY):
        calls["n"] += 1
        if calls["n"] == 2:
            raise ValueError("transient bug")
        return real(order, command, recorded, policy)

    monkeypatch.setattr(shared_step, "handle", once_buggy)
    order = order_id_for_payment("p")
    run = run_flow(
        [
            message(PAY, payment("p"), 0),
            message(REFUND, refund("r1", order), 1),
            message(REFUND, refund("r2", order), 2),
        ]
    )
    assert run.outcome("r2")["type"] == "OrderRefunded"
    assert [d["offset"] for d in run.dlq] == [1]


def test_a_payment_failing_validation_is_dead_lettered_with_its_card_number_masked():
    run = run_flow([message(PAY, payment("p", totalPrice="abc"), 0, key=b"4242424242424242")])
    (dead,) = run.dlq
    assert cards_in(json.dumps(dead)) == []
    assert "************4242" in dead["value"]
    assert dead["key"] == "************4242"


def test_a_card_number_in_bytes_that_are_not_utf8_is_masked_before_base64():
    value = b"\xff card 4000 0566 5566 5556 \xfe"
    run = run_flow([message(PAY, value, 0)])
    (dead,) = run.dlq
    assert dead["valueEncoding"] == "base64"
    assert cards_in(dumps(dead).decode() + repr(__import__("base64").b64decode(dead["value"]))) == []


def test_a_value_too_big_to_dead_letter_whole_leaves_a_truncated_letter_with_its_hash():
    value = b'"' + b"\x01" * 200_000 + b'"'  # valid UTF-8 that JSON escapes 6 times over
    run = run_flow([message(PAY, value, 7), message(PAY, payment("next"), 8)])
    assert stored_payments(run) == ["next"]
    (dead,) = run.dlq
    assert len(dumps(dead)) < MAX_DEAD_LETTER_BYTES
    assert dead["truncated"] is True
    assert dead["valueBytes"] == len(value)
    assert dead["valueSha256"] == hashlib.sha256(value).hexdigest()
    assert (dead["topic"], dead["partition"], dead["offset"]) == (PAY, 0, 7)


def test_a_value_that_fits_is_not_truncated():
    run = run_flow([message(PAY, b"x" * 100_000, 0)])
    assert "truncated" not in run.dlq[0]


def test_ten_thousand_refunds_of_a_refunded_order_store_nothing_more():
    order = order_id_for_payment("p")
    refunds = [message(REFUND, refund(f"again-{i}", order), i + 2) for i in range(10_000)]
    run = run_flow([message(PAY, payment("p"), 0), message(REFUND, refund("r1", order), 1), *refunds])
    assert [d["revision"] for d in run.docs] == [1, 2]
    assert len(run.records) == 1
    assert len(run.events) == 2 + 10_000  # each still answered on order-events


def test_a_payment_with_a_card_spaced_twice_is_dead_lettered_with_it_masked():
    run = run_flow([message(PAY, payment("p", totalPrice="abc", cardNumber="4242  4242  4242  4242"), 0)])
    (dead,) = run.dlq
    assert cards_in(json.dumps(dead)) == []


def test_a_long_key_is_masked_before_it_is_cut_so_no_part_of_a_card_stays():
    key = b"x" * 988 + b"4111111111111111"  # cut at 1,000 bytes, twelve of its digits would stay
    run = run_flow([message(PAY, b"not json", 0, key=key)])
    (dead,) = run.dlq
    assert "411111111111" not in dead["key"]
    assert dead["key"].startswith("x" * 988 + "*")
