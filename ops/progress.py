"""A one-line progress bar on stderr, for commands that work through many items."""

from __future__ import annotations

import sys
import time


def progress(done: int, total: int, started: float, unit: str = "msg") -> None:
    width = 30
    filled = width * done // max(total, 1)
    rate = done / max(time.monotonic() - started, 1e-6)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} {rate:,.0f} {unit}/s")
    sys.stderr.flush()
