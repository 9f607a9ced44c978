"""Card numbers are masked in free text, in bytes and in log lines."""

from __future__ import annotations

import logging

from shared.redact import MaskCards, card_numbers_in, luhn_ok, mask_cards, mask_cards_in_bytes


def test_luhn_accepts_a_test_card_and_refuses_a_digit_changed():
    assert luhn_ok("4242424242424242")
    assert not luhn_ok("4242424242424241")


def test_a_card_number_in_text_keeps_only_its_last_four_digits():
    assert mask_cards("paid with 4242424242424242.") == "paid with ************4242."


def test_a_card_number_written_with_spaces_is_masked():
    assert mask_cards("card 4000 0566 5566 5556 ok") == "card ************5556 ok"


def test_digits_that_fail_luhn_are_left_alone():
    assert mask_cards("order 1234567890123456") == "order 1234567890123456"


def test_a_longer_run_of_digits_is_not_a_card_number():
    text = "4242424242424242" + "0" * 10
    assert mask_cards(text) == text


def test_a_card_number_in_bytes_that_are_not_text_is_masked():
    assert mask_cards_in_bytes(b"\xff4242424242424242\xfe") == b"\xff************4242\xfe"


def test_the_scanner_finds_what_masking_leaves():
    assert card_numbers_in(mask_cards("x 4242424242424242 y")) == []
    assert card_numbers_in("x 4242424242424242 y") == ["4242424242424242"]


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
