"""The pure core imports none of the I/O libraries."""

from __future__ import annotations

import subprocess
import sys

CORE = ["shared.domain", "shared.schemas.inputs", "shared.money", "shared.ids", "shared.timefmt"]
IO = ["bytewax", "confluent_kafka", "pymongo", "bson", "aiohttp"]


def test_the_core_modules_import_no_io_library():
    code = (
        "import importlib, sys\n"
        f"for m in {CORE!r}: importlib.import_module(m)\n"
        f"print(','.join(m for m in {IO!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
