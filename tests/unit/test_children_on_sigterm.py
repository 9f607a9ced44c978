"""A parent ended by SIGTERM stops its children in order (``children.exit_on_sigterm``):
even a child that ignores SIGTERM, which the parent-death signal alone leaves running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from devkit.servers import ROOT

PARENT = """
import sys, time
from ops import children
if sys.argv[1] == "handled":
    children.exit_on_sigterm()
child = children.start(["sh", "-c", "trap '' TERM; echo ready; sleep 60"], stdout=__import__("subprocess").PIPE)
child.stdout.readline()
print(child.pid, flush=True)
try:
    time.sleep(60)
finally:
    children.stop_all([child], grace=0.5)
"""


def _child_after_sigterm(mode: str, settle_s: float) -> bool:
    """Whether the parent's child still runs ``settle_s`` after the parent ended on SIGTERM
    (a killed process may take a moment to die on a busy machine)."""
    with subprocess.Popen([sys.executable, "-c", PARENT, mode], cwd=ROOT, stdout=subprocess.PIPE, text=True) as parent:
        child = int(parent.stdout.readline())
        parent.send_signal(signal.SIGTERM)
        parent.wait(timeout=10)
    deadline = time.monotonic() + settle_s
    while _running_in_group(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not _running_in_group(child):
        return False
    os.killpg(child, signal.SIGKILL)  # the unhandled case's leftover: not left behind by the test
    return True


def _running_in_group(group: int) -> bool:
    """Whether a process of ``group`` runs (zombies, which no init may reap here, do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _ppid, pgrp = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError):
            continue
        if int(pgrp) == group and state != "Z":
            return True
    return False


def test_a_parent_killed_by_sigterm_stops_a_child_that_ignores_sigterm():
    assert _child_after_sigterm("handled", settle_s=5) is False


def test_without_it_such_a_child_outlives_its_parent():
    assert _child_after_sigterm("default", settle_s=0.3) is True
