"""Child processes that end with their parent, however the parent ends.

Every server, dataflow process and API this project starts runs in a session of its
own (so a terminal's Ctrl-C reaches only the parent, which stops them in order). A
parent killed with SIGKILL cannot stop them, so each child also asks Linux for a
parent-death signal (``prctl(PR_SET_PDEATHSIG)``): when the parent goes, the kernel
sends it SIGTERM.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

PR_SET_PDEATHSIG = 1


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return libc.prctl


_PRCTL = _prctl()


def _dies_with(parent: int, sig: int) -> Callable[[], None]:
    def in_child() -> None:  # runs between fork and exec
        os.setsid()
        if _PRCTL is not None:
            _PRCTL(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request was made
            os.kill(os.getpid(), sig)

    return in_child


def start(command: list[str], sig: int = signal.SIGTERM, **popen: Any) -> subprocess.Popen:
    """``subprocess.Popen`` in a new session, sent ``sig`` when this process ends."""
    popen.pop("start_new_session", None)
    return subprocess.Popen(command, preexec_fn=_dies_with(os.getpid(), sig), **popen)


def exit_on_sigterm() -> None:
    """SIGTERM raises ``SystemExit`` in this process, so its ``with`` and ``finally`` blocks
    stop its children in order (``stop_all``: SIGTERM, then SIGKILL after their grace).
    Python's default dies at once, leaving the children only their parent-death signal,
    one SIGTERM, which SecantusDB 0.7.0b3 was seen to deadlock in its handler and outlive."""
    signal.signal(signal.SIGTERM, _exit_for_signal)


def _exit_for_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def stop_all(procs: list[subprocess.Popen], grace: float, hurry: Callable[[], bool] = lambda: False) -> None:
    """SIGTERM to each process's group, then SIGKILL to those still running after
    ``grace`` seconds, or at once when ``hurry()`` turns true (a second Ctrl-C)."""
    running = [p for p in procs if p.poll() is None]
    for proc in running:
        signal_group(proc, signal.SIGTERM)
        signal_group(proc, signal.SIGCONT)  # a stopped (SIGSTOP) process acts on it only once continued
    deadline = time.monotonic() + grace
    while any(p.poll() is None for p in running) and time.monotonic() < deadline and not hurry():
        time.sleep(0.05)
    for proc in running:
        if proc.poll() is None:
            signal_group(proc, signal.SIGKILL)
            proc.wait()


def signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
