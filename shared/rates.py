"""Rate settings like ``10/s burst 20``: a steady rate and the burst a client may spend at once."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SPEC = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*(?:burst\s+(\d+))?\s*$", re.I)
_SECONDS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int

    def shared_by(self, processes: int) -> Rate:
        """Each of ``processes`` API processes' share, so that together they allow this rate."""
        return Rate(self.per_second / processes, max(1, self.burst // processes))

    def __str__(self) -> str:
        return f"{self.per_second:g}/s burst {self.burst}"


def parse_rate(spec: str) -> Rate | None:
    """``"10/s burst 20"``, ``"600/min"`` (burst: one second's worth, at least 1), or
    ``"off"`` (None: no limit)."""
    if spec.strip().lower() in {"off", "none", "0"}:
        return None
    match = _SPEC.match(spec)
    if not match:
        raise ValueError(f"not a rate: {spec!r} (like '10/s burst 20', '600/min', or 'off')")
    per_second = float(match.group(1)) / _SECONDS[match.group(2).lower()]
    burst = int(match.group(3)) if match.group(3) else max(1, round(per_second))
    if per_second <= 0 or burst < 1:
        raise ValueError(f"not a rate: {spec!r} (the rate and the burst must be positive)")
    return Rate(per_second, burst)
