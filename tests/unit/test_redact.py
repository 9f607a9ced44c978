"""Card numbers are masked in free text, in bytes and in log lines."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.logs import MaskCards
from shared.redact import luhn_ok, mask_cards, mask_cards_in_bytes, mask_cards_in_message
from tests.card_scan import cards_in


def test_luhn_accepts_a_test_card_and_refuses_a_digit_changed():
    assert luhn_ok("4242424242424242")
    assert not luhn_ok("4242424242424241")


def test_a_card_number_in_text_keeps_only_its_last_four_digits():
    assert mask_cards("paid with 4242424242424242.") == "paid with ************4242."


def test_a_card_number_written_with_spaces_is_masked_with_its_spaces_kept():
    assert mask_cards("card 4000 0566 5566 5556 ok") == "card **** **** **** 5556 ok"


def test_digits_that_fail_luhn_in_every_window_are_left_alone():
    assert mask_cards("order 1111111111111111") == "order 1111111111111111"


# Each of these the masker of 2026-12-01 left unchanged (issue 27, finding 3).
MISSED_BEFORE = [
    "4111-1111-1111-1111 12 25",
    "4111 1111 1111 1111 403",
    "1 4111111111111111",
    "4111111111111111-01",
    "4242  4242  4242  4242",
    "4242424242424242" + "0" * 10,
    "x4111111111111111y",
    "4111--1111--1111--1111",
]


@pytest.mark.parametrize("text", MISSED_BEFORE)
def test_a_card_number_among_other_digits_or_spaced_twice_is_masked(text):
    assert cards_in(text), "the scanner must see the card before masking"
    masked = mask_cards(text)
    assert cards_in(masked) == [], masked


CARDISH = st.lists(
    st.one_of(st.sampled_from(["4111111111111111", "4242424242424242", "5555555555554444", "378282246310005"]),
              st.text(alphabet="0123456789 -x", max_size=6)),
    max_size=8,
).map("".join)  # fmt: skip


@given(CARDISH)
def test_no_card_number_survives_masking_whatever_surrounds_it(text):
    assert cards_in(mask_cards(text)) == []


@given(CARDISH)
def test_masking_bytes_finds_what_masking_text_finds(text):
    assert mask_cards_in_bytes(text.encode()) == mask_cards(text).encode()


def test_a_card_number_in_bytes_that_are_not_text_is_masked():
    assert mask_cards_in_bytes(b"\xff4242424242424242\xfe") == b"\xff************4242\xfe"


def test_the_scanner_finds_a_card_and_not_its_mask():
    assert cards_in(mask_cards("x 4242424242424242 y")) == []
    assert "4242424242424242" in cards_in("x 4242424242424242 y")


def test_the_log_filter_masks_arguments_of_a_record():
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "card %s", ("4242424242424242",), None)
    MaskCards().filter(record)
    assert record.getMessage() == "card ************4242"


def test_the_log_filter_masks_an_exception_text():
    try:
        raise ValueError("bad 4242424242424242")
    except ValueError as exc:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", (), (type(exc), exc, exc.__traceback__))
    MaskCards().filter(record)
    assert "4242424242424242" not in logging.Formatter().format(record)


@pytest.mark.parametrize("text", ["4242.4242.4242.4242", "4242/4242/4242/4242", "4242_4242_4242_4242", "4242._4242"])
def test_a_card_number_written_with_dots_slashes_or_underscores_is_masked(text):
    card = "4242.4242.4242.4242" if text == "4242._4242" else text
    assert cards_in(mask_cards(card)) == []
    assert mask_cards(card).endswith("4242")


ESCAPED = "".join(f"\\u{ord(d):04x}" for d in "4242424242424242")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"cardNumber": "4242.4242.4242.4242"}',
        ('{"cardNumber": "' + ESCAPED + '"}').encode(),
        b'{"cardNumber": "\\u0034242424242424242"}',
        b'{"4242424242424242": 1}',
        b"[4242424242424242]",
    ],
    ids=["dotted", "escaped", "partly-escaped", "in-a-key", "a-number"],
)
def test_a_json_message_is_masked_in_its_decoded_text_and_stays_json(raw):
    masked = mask_cards_in_message(raw)
    decoded = json.loads(masked)
    assert cards_in(json.dumps(decoded, ensure_ascii=False)) == [], masked
    assert masked != raw


def test_a_json_message_without_a_card_is_left_byte_for_byte():
    raw = b'{"a" : "\\u0041", "n": 1.50}'
    assert mask_cards_in_message(raw) is raw


@pytest.mark.parametrize("depth", [500, 900, 950, 990, 1_000, 5_000])
def test_a_json_message_nested_too_deep_to_walk_is_masked_all_the_same(depth):
    """Deep enough, the JSON reader still takes it but the masking walk cannot go down."""
    deep = b"[" * depth + b'"4242424242424242"' + b"]" * depth
    masked = mask_cards_in_message(deep)
    assert b"4242424242424242" not in masked
    assert b"4242" in masked
