"""A clean stop, always: ``make run`` (``python -m devkit.run``) ends within 15 s of
SIGTERM or Ctrl-C, also when the signal comes twice and when the broker is already
gone, and nothing it started outlives it, even when it is killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from devkit.sandbox import Stack
from devkit.servers import ROOT, Tansu, free_port, free_port_run

pytestmark = pytest.mark.tansu_only  # starts its own embedded servers: once is enough

STOP_WITHIN_S = 15.0
CYCLES = int(os.environ.get("STOP_CYCLES", "20"))


def marked(marker: str) -> list[int]:
    """The processes whose environment holds ``marker``: everything a run started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def started_run(tmp_path: Path, marker: str, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "ORDER_STOP_TEST": marker,
        "ORDER_DATA_DIR": str(tmp_path / marker),
        "ORDER_SERVICE_PORT": str(port),
        "FLOW_METRICS_PORT": str(free_port()),
        "TOPIC_PARTITIONS": "1",
        "BROKER": "tansu",  # killed by name in "broker gone" (Apache Kafka's stop: test_run_on_kafka)
    }
    for name in ("KAFKA_URI", "MONGO_URI", "JWT_SEC"):
        env.pop(name, None)
    log = open(tmp_path / f"{marker}.log", "wb")  # noqa: SIM115 (the child keeps it)
    proc = subprocess.Popen(
        [sys.executable, "-m", "devkit.run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    log.close()
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2) as response:
                if response.status == 200:
                    return proc
        except OSError:
            pass
        assert proc.poll() is None, (tmp_path / f"{marker}.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "make run was not ready in 120 s"
        time.sleep(0.3)


def listenable(port: int) -> bool:
    """Whether a server could listen on ``port`` now, as the next run's API would
    (with SO_REUSEADDR, so the health checks' closed connections do not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen()
        except OSError:
            return False
        return True


def command_of(pid: int) -> str:
    """What a process left behind runs, for the failure's message."""
    try:
        return f"{pid}: " + Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
    except OSError:
        return f"{pid}: gone"


def tansu_of(marker: str) -> int:
    (pid,) = [p for p in marked(marker) if b"tansu" in Path(f"/proc/{p}/cmdline").read_bytes()]
    return pid


def stop(proc: subprocess.Popen, how: str, marker: str) -> None:
    if how == "sigterm":
        os.killpg(proc.pid, signal.SIGTERM)
    elif how == "ctrl-c twice":
        os.killpg(proc.pid, signal.SIGINT)
        time.sleep(0.3)
        os.killpg(proc.pid, signal.SIGINT)
    elif how == "broker gone, then sigterm":
        os.kill(tansu_of(marker), signal.SIGKILL)
        time.sleep(1)
        os.killpg(proc.pid, signal.SIGTERM)
    else:  # kill -9 of the parent alone: its children must follow
        os.kill(proc.pid, signal.SIGKILL)


WAYS = ["sigterm", "ctrl-c twice", "kill -9 parent", "broker gone, then sigterm"]


def test_twenty_stops_of_make_run_leave_no_process_and_free_the_port(tmp_path: Path):
    failures = []
    for cycle in range(CYCLES):
        how = WAYS[cycle % len(WAYS)]
        marker = f"stop-{uuid.uuid4().hex[:12]}"
        port = free_port()
        proc = started_run(tmp_path, marker, port)
        started = time.monotonic()
        stop(proc, how, marker)
        proc.wait(timeout=60)
        while marked(marker) and time.monotonic() - started < STOP_WITHIN_S:
            time.sleep(0.1)
        took = time.monotonic() - started
        left = marked(marker)
        if left or took >= STOP_WITHIN_S or not listenable(port):
            failures.append((cycle, how, round(took, 1), [command_of(pid) for pid in left], listenable(port)))
        for pid in left:  # leave nothing to the next cycle, whatever happened
            os.kill(pid, signal.SIGKILL)
    assert failures == []


def wait_until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} not in {timeout} s"
        time.sleep(0.2)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.parametrize("how", ["sigterm twice", "kill -9 parent"])
def test_a_cluster_of_two_processes_ends_with_its_supervisor(servers, tmp_path: Path, how: str):
    stack = Stack(servers.kafka_uri, servers.mongo_uri, tmp_path)
    marker = f"stop-{uuid.uuid4().hex[:12]}"
    metrics = free_port_run(2)
    cmd = [sys.executable, "-m", "ops.cluster", "--processes", "2", "--recovery", str(tmp_path / "recovery")]
    cmd += ["--metrics-port", str(metrics)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**stack.env, "ORDER_STOP_TEST": marker}, start_new_session=True)
    try:
        wait_until(lambda: all(answers(f"http://127.0.0.1:{metrics + i}/live") for i in (0, 1)), 120, "both /live")
        started = time.monotonic()
        if how == "sigterm twice":
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            proc.send_signal(signal.SIGTERM)
        else:
            proc.kill()
        proc.wait(STOP_WITHIN_S)
        wait_until(lambda: not marked(marker), STOP_WITHIN_S, "every process of the cluster gone")
        assert time.monotonic() - started < STOP_WITHIN_S
    finally:
        for pid in marked(marker):
            os.kill(pid, signal.SIGKILL)
        stack.close()


def test_the_api_ends_within_15_s_of_sigterm_when_the_broker_is_gone(servers, tmp_path: Path):
    with Tansu(log_path=tmp_path / "tansu.log") as tansu:
        stack = Stack(tansu.uri, servers.mongo_uri, tmp_path)
        port = free_port()
        api = stack.start_api(port)
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/health/ready"), 60, "the API ready")
    started = time.monotonic()  # the broker is gone now
    api.send_signal(signal.SIGTERM)
    api.wait(STOP_WITHIN_S)
    assert time.monotonic() - started < STOP_WITHIN_S
    stack.close()
