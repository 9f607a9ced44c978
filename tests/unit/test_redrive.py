"""ops.redrive's choices, without a broker: what is selected, what is refused and why,
what an earlier run sent, and the message that goes back."""

from __future__ import annotations

import base64
import json

import pytest

from ops.redrive import HEADER, Letter, Selection, borne_out, original, plan, redrive_mark, refusal
from shared.schemas.dead_letters import DeadReason, dead_letter
from shared.topics import Topics
from tests.card_scan import cards_in

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
    assert sent == [*headers, (HEADER, redrive_mark(f"{TOPICS.order_dlq.name}/0@3", key, value).encode())]


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
    key, value, headers = original(letters[1])
    result = plan(letters, Selection(), INPUTS, set(borne_out(headers, key, value)))
    assert [x.offset for x in result.send] == [0, 2]
    assert [x.offset for x in result.sent_before] == [1]


def test_filters_select_by_reason_time_and_offset():
    letters = [letter(i) for i in range(5)]
    chosen = Selection(reasons=frozenset({"payment-lookup"}), since_ms=1_001, until_ms=1_004, offsets=(2, 9))
    assert [x.offset for x in plan(letters, chosen, INPUTS, set()).send] == [2, 3]
    assert plan(letters, Selection(reasons=frozenset({"invalid"})), INPUTS, set()).send == []


ESCAPED_CARD = "".join(f"\\u{ord(d):04x}" for d in "4242424242424242")


@pytest.mark.parametrize(
    "card",
    ["4242.4242.4242.4242", ESCAPED_CARD, "\\u0034242424242424242"],
    ids=["dotted", "escaped", "partly-escaped"],
)
def test_a_dead_letter_of_a_card_number_in_any_writing_is_masked_valid_json_and_not_redriven(card):
    value = ('{"paymentId": "p", "cardNumber": "' + card + '"}').encode()
    body = dead_letter(TOPICS, PAYMENTS, 0, 7, b"key", value, "bad").value
    decoded = json.loads(body["value"])
    assert body.get("masked") is True
    assert cards_in(json.dumps(decoded)) == []
    assert (refusal(Letter(TOPICS.order_dlq.name, 0, 1, 1_001, body), INPUTS) or "").startswith("masked")


def test_a_redrive_header_on_another_message_does_not_count_the_letter_as_sent():
    letters = [letter(0), letter(1)]
    forged = [(HEADER, original(letters[1])[2][-1][1])]
    marks = borne_out(forged, b"key", b'{"paymentId": "another"}')
    result = plan(letters, Selection(), INPUTS, set(marks))
    assert [x.offset for x in result.send] == [0, 1]


def test_a_bare_redrive_header_naming_a_letter_counts_for_nothing():
    letters = [letter(0)]
    marks = borne_out([(HEADER, letters[0].name.encode())], b"key", b'{"paymentId": "p"}')
    assert [x.offset for x in plan(letters, Selection(), INPUTS, set(marks)).send] == [0]
