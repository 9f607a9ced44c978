"""Exact money: integer cents inside, at most two decimals on the wire."""

from __future__ import annotations

from decimal import Decimal

MAX_AMOUNT = Decimal(10) ** 12


class MoneyError(ValueError):
    pass


def to_cents(value: object) -> int:
    """Cents of a JSON number (int or Decimal); never goes through a binary float."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise MoneyError("must be a number")
    amount = Decimal(value)
    if not amount.is_finite():
        raise MoneyError("must be a finite number")
    if abs(amount) > MAX_AMOUNT:
        raise MoneyError(f"must be at most {MAX_AMOUNT}")
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise MoneyError("must have at most 2 decimals")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def json_number(cents: int) -> int | float:
    """What goes on the wire: an int when whole, else the exact 2-decimal value."""
    if cents % 100 == 0:
        return cents // 100
    return float(from_cents(cents))  # repr of a 2-decimal float round-trips exactly
