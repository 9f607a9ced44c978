"""What the API needs from the outside world; Mongo and Kafka implement these."""

from __future__ import annotations

from typing import Any, Protocol


class OrderStore(Protocol):
    async def get(self, order_id: str, with_requests: bool = False) -> dict[str, Any] | None:
        """The order; its request outcomes (``requests``) only when asked for."""
        ...

    async def get_many(self, order_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Whole orders, request outcomes included."""
        ...

    async def request_ids(self, order_ids: list[str]) -> dict[str, set[str]]:
        """The ids of the requests each order has an outcome for (a light query)."""
        ...

    async def find_by_user(
        self, user_id: str, status: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[dict[str, Any]]: ...

    async def claim_key(self, key_id: str, request_id: str, fingerprint: str) -> tuple[str, str]:
        """Store (request_id, fingerprint) under key_id unless present; return what is stored."""
        ...

    async def ping(self) -> None: ...


class Publisher(Protocol):
    async def publish(self, topic: str, key: str, value: dict[str, Any]) -> None: ...

    async def ping(self) -> None: ...
