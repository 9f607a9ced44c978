"""What the API needs from the outside world; Mongo and Kafka implement these."""

from __future__ import annotations

from typing import Any, Protocol

from shared.topics import Topic


class TooManyKeys(Exception):
    def __init__(self, per_day: int, retry_after_s: float):
        super().__init__(f"{per_day} Idempotency-Keys today")
        self.per_day = per_day
        self.retry_after_s = retry_after_s


class KeyClaimRace(Exception):
    """An Idempotency-Key kept changing hands while it was claimed: try again (503)."""


class OrderStore(Protocol):
    async def get(self, order_id: str) -> dict[str, Any] | None:
        """The order's document."""
        ...

    async def get_many(self, order_ids: list[str]) -> dict[str, dict[str, Any]]: ...

    async def orders_and_records(
        self, wanted: dict[str, str]
    ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """For ``wanted`` (record id -> order id): the orders, then those records that
        exist, by id. The orders are read first, so each order is at least as new as
        any of its records found."""
        ...

    async def records(self, record_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The request records among ``record_ids`` (``shared.storage.record_doc``), by id."""
        ...

    async def history(self, order_id: str, after_seq: int, limit: int) -> list[dict[str, Any]]:
        """The order's records past ``after_seq``, oldest first."""
        ...

    async def find_by_user(
        self, user_id: str, status: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[dict[str, Any]]: ...

    async def claim_key(
        self, user_id: str, key_hash: str, request_id: str, fingerprint: str, per_day: int
    ) -> tuple[str, str]:
        """Store (request_id, fingerprint) under the user's key unless present; return what
        is stored. Raises ``TooManyKeys`` when the key is new and ``user_id`` made ``per_day`` today."""
        ...

    async def ping(self) -> None: ...


class Publisher(Protocol):
    async def publish(self, topic: Topic, key: str, value: dict[str, Any]) -> None: ...

    async def ping(self) -> None: ...
