"""A brute-force scanner for card numbers, written apart from ``shared.redact``'s
masker so that it cannot share its blind spots: from every digit, it walks on through
one or two separators (space, dash, dot, slash, underscore) at a time and checks each 13 to 19 digits it has by Luhn."""

from __future__ import annotations

SEPARATORS = " -./_"


def luhn(digits: str) -> bool:
    total = 0
    for place, ch in enumerate(reversed(digits)):
        value = int(ch) * (2 if place % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _walk(text: str, start: int) -> list[str]:
    """Every 13 to 19-digit number that starts at ``start``, as its digits."""
    found, digits, i = [], text[start], start + 1
    while len(digits) < 19 and i < len(text):
        gap = 0
        while gap < 2 and i + gap < len(text) and text[i + gap] in SEPARATORS:
            gap += 1
        if i + gap >= len(text) or not text[i + gap].isascii() or not text[i + gap].isdigit():
            break
        digits += text[i + gap]
        i += gap + 1
        if len(digits) >= 13 and luhn(digits):
            found.append(digits)
    return found


def cards_in(text: str) -> list[str]:
    """The card numbers in ``text``, each as its digits (empty when it holds none)."""
    return [n for start, ch in enumerate(text) if ch.isascii() and ch.isdigit() for n in _walk(text, start)]
