"""What the API needs from the outside world; Mongo and Kafka implement these."""

from __future__ import annotations

from typing import Protocol

from http_api.wire import JsonObject
from shared.domain.model import Order
from shared.storage import RecordView
from shared.topics import Topic


class TooManyKeys(Exception):
    def __init__(self, per_day: int, retry_after_s: float):
        super().__init__(f"{per_day} Idempotency-Keys today")
        self.per_day = per_day
        self.retry_after_s = retry_after_s


class KeyClaimRace(Exception):
    """An Idempotency-Key kept changing hands while it was claimed: try again (503)."""


class OrderStore(Protocol):
    """Orders and their request records as typed values, read from the documents of
    ``shared.storage`` (which owns how they are stored). An order read here has no
    ``origin`` (the flow's alone), and its ``revision`` names the write it saw."""

    async def get(self, order_id: str) -> Order | None: ...

    async def get_many(self, order_ids: list[str]) -> dict[str, Order]: ...

    async def orders_and_records(self, wanted: dict[str, str]) -> tuple[dict[str, Order], dict[str, RecordView]]:
        """For ``wanted`` (record id -> order id): the orders, then those records that
        exist, by id. The orders are read first, so each order is at least as new as
        any of its records found."""
        ...

    async def records(self, record_ids: list[str]) -> dict[str, RecordView]:
        """The request records among ``record_ids`` (``shared.storage.record_id``), by id."""
        ...

    async def history(self, order_id: str, after_seq: int, limit: int) -> list[RecordView]:
        """The order's records past ``after_seq``, oldest first."""
        ...

    async def find_by_user(
        self, user_id: str, status: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[Order]:
        """``user_id``'s orders, newest first, before ``after`` (created at, id) when given."""
        ...

    async def claim_key(
        self, user_id: str, key_hash: str, request_id: str, fingerprint: str, per_day: int
    ) -> tuple[str, str]:
        """Store (request_id, fingerprint) under the user's key unless present; return what
        is stored. Raises ``TooManyKeys`` when the key is new and ``user_id`` made ``per_day`` today."""
        ...

    async def ping(self) -> None: ...


class Publisher(Protocol):
    async def publish(self, topic: Topic, key: str, value: JsonObject) -> None:
        """``value``: a request event's payload, as JSON."""
        ...

    async def ping(self) -> None: ...
