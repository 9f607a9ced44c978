"""Values made from an order at one revision, kept by (id, revision).

Only the flow writes orders, one document per revision, so what is made from a
revision (its ``Order``, its JSON body) never changes: reading the order stays
(that is what keeps reads fresh); making the value again is skipped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ByRevision(Generic[T]):
    def __init__(self, size: int = 4_096):
        self._size = size
        self._values: dict[tuple[str, int], T] = {}

    def get(self, key: tuple[str, int], make: Callable[[], T]) -> T:
        """The value kept for ``key`` (order id, revision), made by ``make`` the first time."""
        value = self._values.get(key)
        if value is None:
            value = make()
            if len(self._values) >= self._size:
                del self._values[next(iter(self._values))]  # the oldest
            self._values[key] = value
        return value

    def __len__(self) -> int:
        return len(self._values)
