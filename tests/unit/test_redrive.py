"""ops.redrive's choices, without a broker: what is selected, what is refused and why,
what an earlier run sent, and the message that goes back."""

from __future__ import annotations

import base64

from ops.redrive import HEADER, Letter, Selection, original, plan, refusal
from shared.schemas.dead_letters import DeadReason, dead_letter
from shared.topics import Topics

TOPICS = Topics()
INPUTS = frozenset(t.name for t in TOPICS.inputs)
PAYMENTS = TOPICS.payment_accepted.name


def letter(offset: int, value: bytes = b'{"paymentId": "p"}', **kw) -> Letter:
    body = dead_letter(TOPICS, PAYMENTS, 0, 7, b"key", value, "down", DeadReason.PAYMENT_LOOKUP, **kw).value
    return Letter(TOPICS.order_dlq.name, 0, offset, 1_000 + offset, body)


def test_the_original_message_goes_back_whole_with_a_header_naming_the_dead_letter():
    headers = [("traceparent", b"00-ab-cd-01"), ("bin", b"\xff\x00")]
    key, value, sent = original(letter(3, headers=headers))
    assert (key, value) == (b"key", b'{"paymentId": "p"}')
    assert sent == [*headers, (HEADER, f"{TOPICS.order_dlq.name}/0@3".encode())]


def test_a_binary_value_comes_back_byte_for_byte():
    raw = b"\xff\xfe\x00payment"
    body = dead_letter(TOPICS, PAYMENTS, 0, 7, b"k", raw, "bad").value
    assert body["valueEncoding"] == "base64" and base64.b64decode(body["value"]) == raw
    assert original(Letter("dlq", 0, 0, 0, body))[1] == raw


def test_a_truncated_dead_letter_is_refused_as_truncated():
    big = b"x" * 600_000
    assert refusal(letter(1, big), INPUTS).startswith("truncated")


def test_a_dead_letter_whose_card_number_was_masked_is_refused_naming_where_the_original_is():
    said = refusal(letter(1, b'{"cardNumber": "4242424242424242"}'), INPUTS)
    assert said is not None and said.startswith("masked") and f"{PAYMENTS}/0@7" in said


def test_a_dead_letter_of_the_older_format_without_headers_is_refused():
    old = letter(1)
    del old.body["headers"]
    assert "older format" in (refusal(old, INPUTS) or "")


def test_what_an_earlier_run_sent_is_not_sent_again():
    letters = [letter(0), letter(1), letter(2)]
    result = plan(letters, Selection(), INPUTS, {letters[1].name})
    assert [x.offset for x in result.send] == [0, 2]
    assert [x.offset for x in result.sent_before] == [1]


def test_filters_select_by_reason_time_and_offset():
    letters = [letter(i) for i in range(5)]
    chosen = Selection(reasons=frozenset({"payment-lookup"}), since_ms=1_001, until_ms=1_004, offsets=(2, 9))
    assert [x.offset for x in plan(letters, chosen, INPUTS, set()).send] == [2, 3]
    assert plan(letters, Selection(reasons=frozenset({"invalid"})), INPUTS, set()).send == []
