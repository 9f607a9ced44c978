"""Card numbers out of everything the service writes that is not an order: dead
letters, log lines, error texts.

An order keeps only a mask of its card (``schemas.inputs.mask_card``); a message
that never became an order may still hold the full number anywhere (in a field
that failed validation, in a key, in bytes that are not UTF-8). Every run of 13
to 19 digits, spaces or dashes between them allowed, that passes the Luhn check
is masked the same way, keeping its last four digits.
"""

from __future__ import annotations

import logging
import re

_TEXT_RUN = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")
_BYTES_RUN = re.compile(rb"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def masked_digits(digits: str) -> str:
    """A card number as orders keep it: stars, then its last four digits."""
    return "*" * (len(digits) - 4) + digits[-4:]


def _masked(run: str) -> str | None:
    digits = run.replace(" ", "").replace("-", "")
    if not 13 <= len(digits) <= 19 or not luhn_ok(digits):
        return None
    return masked_digits(digits)


def _mask_text_match(match: re.Match[str]) -> str:
    return _masked(match.group()) or match.group()


def _mask_bytes_match(match: re.Match[bytes]) -> bytes:
    masked = _masked(match.group().decode("ascii"))
    return match.group() if masked is None else masked.encode()


def mask_cards(text: str) -> str:
    """``text`` with every card number in it masked."""
    return _TEXT_RUN.sub(_mask_text_match, text)


def mask_cards_in_bytes(raw: bytes) -> bytes:
    """``raw`` with every ASCII card number in it masked (the bytes need not be text)."""
    return _BYTES_RUN.sub(_mask_bytes_match, raw)


def card_numbers_in(text: str) -> list[str]:
    """The unmasked card numbers left in ``text``: what a test scans dead letters for."""
    return [m.group() for m in _TEXT_RUN.finditer(text) if _masked(m.group()) is not None]


class MaskCards(logging.Filter):
    """A log filter that masks card numbers in each record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_cards(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            masked_text = mask_cards(text)
            if masked_text != text:
                record.exc_text, record.exc_info = masked_text, None
        return True


def install_log_masking() -> None:
    """Mask card numbers in every record the root logger's handlers write."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, MaskCards) for f in handler.filters):
            handler.addFilter(MaskCards())
