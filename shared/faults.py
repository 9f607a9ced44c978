"""Named fault points, for the fault tests only (not a setting: docs/recovery.md).

``FAULT_POINTS`` arms some of them, comma-separated: ``POINT=kill:PATH`` kills this
process (SIGKILL) the first time it reaches POINT, ``POINT=pause:PATH`` waits there
until the test removes PATH (while it stops a server, say). Each fires once per
marker file PATH: the process writes its pid there as it fires, and a marker that
exists is spent. A test arms a point, waits for the marker, and restarts the process
(with a new marker, if it wants the point again).

The switch is read once a process, by its entry point (``dataflows.main.wired``,
``python -m http_api``), and the points are handed to what fires them: the flow's
source and sink, the API's app.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping
from pathlib import Path

SWITCH = "FAULT_POINTS"
# The flow's writes of a batch, in their order (dataflows.store_then_publish), its
# resume point's snapshot (dataflows.kafka_io), and the API between an
# Idempotency-Key's claim and the request's publish (http_api.mutations).
POINTS = ("after-orders", "after-records", "after-produce", "before-commit", "api-after-claim")
MODES = ("kill", "pause")


def parse(spec: str | None) -> dict[str, tuple[str, Path]]:
    """``FAULT_POINTS``' value as {point: (mode, marker)}; a bad one is a ValueError naming it."""
    armed: dict[str, tuple[str, Path]] = {}
    for item in filter(None, (part.strip() for part in (spec or "").split(","))):
        point, _, action = item.partition("=")
        mode, _, path = action.partition(":")
        if point not in POINTS or mode not in MODES or not path:
            raise ValueError(
                f"{SWITCH}: {item!r}: expected POINT=kill:PATH or POINT=pause:PATH, POINT one of {', '.join(POINTS)}"
            )
        armed[point] = (mode, Path(path))
    return armed


class FaultPoints:
    """The points armed for this process; ``fire`` is a dict lookup when one is not."""

    def __init__(self, armed: dict[str, tuple[str, Path]] | None = None):
        self._armed = armed or {}

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> FaultPoints:
        return cls(parse(environ.get(SWITCH)))

    def fire(self, point: str) -> None:
        """Fire ``point`` if it is armed and its marker not yet spent."""
        if point not in self._armed:
            return
        mode, marker = self._armed[point]
        if marker.exists():
            return
        marker.write_text(str(os.getpid()))
        if mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        while marker.exists():
            time.sleep(0.05)


NO_FAULTS = FaultPoints()
