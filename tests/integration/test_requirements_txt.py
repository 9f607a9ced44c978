"""``pip install -r requirements.txt``, the habit the top-level file is for: a fresh
venv of this machine's CPython, the lock's runtime installed with its hashes checked
(from PyPI), runs the service's commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devkit.servers import ROOT

pytestmark = pytest.mark.apache_only  # needs no server: once per test run


def test_a_fresh_venv_from_requirements_txt_runs_the_service(tmp_path: Path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", "--require-hashes"]
    subprocess.run([*pip, "-r", str(ROOT / "requirements.txt")], check=True, timeout=600)
    python = str(venv / "bin" / "python")
    imported = subprocess.run(
        [python, "-c", "import dataflows.main, http_api.app, ops.cluster"], cwd=ROOT, capture_output=True, text=True
    )
    helped = subprocess.run([python, "-m", "http_api", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert imported.returncode == 0, imported.stderr
    assert helped.returncode == 0 and "--port" in helped.stdout, helped.stderr
