"""ISO-8601 timestamps, always UTC with millisecond precision and a Z."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_from_millis(millis: int) -> str:
    """ValueError when the time is outside the calendar (years 1 to 9999, in UTC)."""
    try:
        return iso(datetime.fromtimestamp(millis / 1000, tz=UTC))
    except (OverflowError, OSError) as exc:
        raise ValueError(f"{millis} ms is outside the calendar") from exc


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> str:
    """Normalise an ISO-8601 string; ValueError when it is not one, or when it names a
    time that is outside the calendar once in UTC (9999-12-31T23:00:00-05:00, say)."""
    try:
        return iso(datetime.fromisoformat(text))
    except OverflowError as exc:
        raise ValueError(f"{text!r} is outside the calendar in UTC") from exc
