"""make run (``devkit.run``) restarts an API process that dies, but not one that dies
at its start (a bad setting, a port taken), which a restart would only repeat."""

from __future__ import annotations

import sys
import time

from devkit import run

SLEEPER = [sys.executable, "-c", "import time; time.sleep(0.6)"]
QUITTER = [sys.executable, "-c", "raise SystemExit(3)"]


def ticks_until(api: run.RestartedApi, done, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = api.tick()
        if code is not None or done():
            return code
        time.sleep(0.05)
    raise TimeoutError("nothing happened")


def test_an_api_that_dies_after_settling_is_restarted(monkeypatch):
    monkeypatch.setattr(run, "API_SETTLE_S", 0.3)
    api = run.RestartedApi(SLEEPER, {})
    first = api.proc
    try:
        assert ticks_until(api, lambda: api.proc is not first) is None
        assert api.proc.poll() is None
    finally:
        api.proc.kill()
        api.proc.wait()


def test_an_api_that_dies_at_its_start_stops_the_run_with_its_code():
    api = run.RestartedApi(QUITTER, {})
    assert ticks_until(api, lambda: False) == 3
