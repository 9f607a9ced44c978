"""Times: a UTC datetime to the millisecond inside the service, an ISO-8601 string with a Z
on the wire and in the database (``iso``). The core compares and subtracts times; the
edges parse them (``parse_time``, ``time_from_millis``) and render them (``iso``)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache


def utc_millis(moment: datetime) -> datetime:
    """``moment`` in UTC, to the millisecond (a naive one is taken as UTC): the one form
    of a time inside the service, so a time read back from its ISO string is equal."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def time_from_millis(millis: int) -> datetime:
    """ValueError when the time is outside the calendar (years 1 to 9999, in UTC)."""
    try:
        return utc_millis(datetime.fromtimestamp(millis / 1000, tz=UTC))
    except (OverflowError, OSError) as exc:
        raise ValueError(f"{millis} ms is outside the calendar") from exc


def parse_time(text: str) -> datetime:
    """ValueError when ``text`` is not ISO-8601, or names a time that is outside the
    calendar once in UTC (9999-12-31T23:00:00-05:00, say)."""
    try:
        return utc_millis(datetime.fromisoformat(text))
    except OverflowError as exc:
        raise ValueError(f"{text!r} is outside the calendar in UTC") from exc


@lru_cache(maxsize=4_096)
def iso(moment: datetime) -> str:
    # Cached: one moment is rendered several times (a payment's order, its event and each of
    # its stock messages); what it saves: docs/benchmarks.md, "Speed choices in the code".
    if moment.tzinfo is not UTC or moment.microsecond % 1000:
        moment = utc_millis(moment)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
