"""What every stored document shares: money as Decimal128, and reads by id in chunks."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from typing import Any

from bson.decimal128 import Decimal128

from shared.money import from_cents

# A long $in list is slow on SecantusDB (a 1,000-id list took about 60 times as long
# as a 100-id one when this was set), so lookups go 100 ids at a time.
IN_CHUNK = 100


def id_queries(order_ids: list[str]) -> Iterator[dict[str, Any]]:
    """``{"_id": {"$in": ...}}`` queries covering ``order_ids``, a chunk each."""
    for start in range(0, len(order_ids), IN_CHUNK):
        yield {"_id": {"$in": order_ids[start : start + IN_CHUNK]}}


@lru_cache(maxsize=65_536)
def money(cents: int) -> Decimal128:
    # Decimal128 is immutable and slow to build; prices repeat, so building each once pays.
    return Decimal128(from_cents(cents))


def cents(value: Decimal128 | int | float) -> int:
    """Stored money (Decimal128; a number in documents written by hand) to cents,
    rounding half to even, as ``from_cents`` wrote it: the one way back from Mongo."""
    if isinstance(value, Decimal128):
        return _decimal128_cents(value.bid)
    return _to_cents(Decimal(str(value)))


@lru_cache(maxsize=65_536)
def _decimal128_cents(bid: bytes) -> int:
    # Keyed by the value's 16 bytes (a Decimal128 is not hashable): to_decimal() costs
    # about 6 µs, and each order read holds several amounts, most of them repeated.
    return _to_cents(Decimal128.from_bid(bid).to_decimal())


def _to_cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value(ROUND_HALF_EVEN))
