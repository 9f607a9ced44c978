"""Files only their owner may read: tokens, and endpoints whose URIs may hold passwords."""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE = 0o600


def write_private(path: Path, text: str) -> None:
    """``text`` into ``path``, readable and writable by its owner alone, from its first byte
    (made 0600, not chmod-ed after) and also when it existed with looser rights."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    try:
        os.fchmod(fd, PRIVATE)
        os.write(fd, text.encode())
    finally:
        os.close(fd)
