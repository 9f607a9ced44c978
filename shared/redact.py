"""Card numbers out of everything the service writes that is not an order: dead
letters, log lines (``shared.logs.MaskCards``), error texts.

An order keeps only a mask of its card (``schemas.inputs.mask_card``); a message
that never became an order may still hold the full number anywhere (in a field
that failed validation, in a key, in bytes that are not UTF-8). Every window of 13
to 19 digits, with one or two separators between any two of them (a space, dash,
dot, slash or underscore: whatever a parser might strip) and anything around it
(other digits too), that passes the Luhn check is masked: its digits are starred
but the last four, its separators kept. Random digits pass Luhn one time in ten, so
a long number is sometimes masked though it is no card: the safe mistake.

A message that is JSON is masked as JSON (``mask_cards_in_message``): in its decoded
strings, numbers and keys, so a number written as ``\u0034`` escapes is found, and
what is left is still JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

# A run of 13 or more digits, one or two separators allowed between any two: every
# window of 13 to 19 of its digits is a candidate, whatever stands around it.
_TEXT_RUN = re.compile(r"[0-9](?:[ ./_-]{0,2}[0-9]){12,}")
_BYTES_RUN = re.compile(rb"[0-9](?:[ ./_-]{0,2}[0-9]){12,}")
SHORTEST, LONGEST = 13, 19
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # a digit's Luhn value when it is doubled


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        total += _DOUBLED[d] if i % 2 else d
    return total % 10 == 0


def masked_digits(digits: str) -> str:
    """A card number as orders keep it: stars, then its last four digits."""
    return "*" * (len(digits) - 4) + digits[-4:]


def _to_mask(digits: list[int]) -> set[int]:
    """Indexes into ``digits`` of every digit but the last four of each window of 13
    to 19 that passes the Luhn check. Sums over prefixes make each window O(1): a
    digit is doubled when its distance from the window's last digit is odd."""
    n = len(digits)
    plain = [[0] * (n + 1), [0] * (n + 1)]  # by the index's parity: sums of digits
    doubled = [[0] * (n + 1), [0] * (n + 1)]  # ... and of their doubled values
    for k, d in enumerate(digits):
        for parity in (0, 1):
            own = k % 2 == parity
            plain[parity][k + 1] = plain[parity][k] + (d if own else 0)
            doubled[parity][k + 1] = doubled[parity][k] + (_DOUBLED[d] if own else 0)
    hidden: set[int] = set()
    for end in range(SHORTEST, n + 1):
        last = (end - 1) % 2
        for start in range(max(0, end - LONGEST), end - SHORTEST + 1):
            total = plain[last][end] - plain[last][start] + doubled[1 - last][end] - doubled[1 - last][start]
            if total % 10 == 0:
                hidden.update(range(start, end - 4))
    return hidden


def _mask_run(run: str) -> str:
    """``run`` with the digits of its card numbers starred, separators kept."""
    places = [i for i, ch in enumerate(run) if ch.isdigit()]
    hidden = _to_mask([ord(run[i]) - 48 for i in places])
    if not hidden:
        return run
    chars = list(run)
    for k in hidden:
        chars[places[k]] = "*"
    return "".join(chars)


def mask_cards(text: str, keep: Collection[str] = ()) -> str:
    """``text`` with every card number in it masked: its digits starred but the last four.
    ``keep``: identifiers the service made (an order's id, a request's), left whole
    wherever they stand, though a run of their digits may pass the Luhn check."""
    keep = [k for k in keep if k]
    if not keep:
        return _TEXT_RUN.sub(lambda m: _mask_run(m.group()), text)
    kept = re.compile("|".join(re.escape(k) for k in sorted(keep, key=len, reverse=True)))
    pieces, at = [], 0
    for found in kept.finditer(text):
        pieces += [mask_cards(text[at : found.start()]), found.group()]
        at = found.end()
    return "".join([*pieces, mask_cards(text[at:])])


def mask_cards_in_bytes(raw: bytes) -> bytes:
    """``raw`` with every ASCII card number in it masked (the bytes need not be text)."""
    return _BYTES_RUN.sub(lambda m: _mask_run(m.group().decode("ascii")).encode("ascii"), raw)


def mask_cards_in_message(raw: bytes) -> bytes:
    """``raw`` with every card number in it masked: a JSON text in its decoded values
    and keys (re-encoded only when one was masked, so it stays JSON, escapes or not),
    anything else as bytes."""
    try:
        decoded = json.loads(raw)
        masked = mask_value(decoded)
        unchanged = masked == decoded
    except (ValueError, RecursionError):  # nested deeper than the walk can go: masked as bytes
        return mask_cards_in_bytes(raw)
    if unchanged:
        return raw
    return json.dumps(masked, separators=(",", ":")).encode()  # ASCII: a lone surrogate stays escaped


def mask_value(value: Any, keep: Collection[str] = ()) -> Any:
    """A log field, a problem's member or a decoded JSON message with its card numbers
    masked: text masked, a number that holds one becomes its masked text, containers
    masked throughout, their keys too (``keep``: as ``mask_cards``'s)."""
    if isinstance(value, str):
        return mask_cards(value, keep)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        text = str(value)
        masked = mask_cards(text)
        return value if masked == text else masked
    if isinstance(value, dict):
        return {mask_cards(k, keep) if isinstance(k, str) else k: mask_value(v, keep) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(v, keep) for v in value]
    return mask_cards(str(value), keep)
