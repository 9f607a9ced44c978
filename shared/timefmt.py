"""ISO-8601 timestamps, always UTC with millisecond precision and a Z."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_from_millis(millis: int) -> str:
    return iso(datetime.fromtimestamp(millis / 1000, tz=UTC))


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> str:
    """Normalise an ISO-8601 string; ValueError when it is not one."""
    return iso(datetime.fromisoformat(text))
