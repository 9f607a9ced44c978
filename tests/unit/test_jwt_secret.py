"""Weak JWT secrets are refused: too short, or one anybody can read in this repository."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from shared.config import MIN_JWT_SECRET_BYTES, PUBLISHED_JWT_SECRETS, jwt_secret_problem

ROOT = Path(__file__).resolve().parents[2]
STRONG = "9f1c" * 16


def test_a_random_secret_of_32_bytes_is_accepted():
    assert jwt_secret_problem(STRONG) is None


def test_a_missing_secret_is_refused():
    assert "not set" in jwt_secret_problem(None)


def test_a_secret_under_32_bytes_is_refused():
    assert "shorter" in jwt_secret_problem("x" * (MIN_JWT_SECRET_BYTES - 1))


def test_the_compose_file_default_is_refused_although_long_enough():
    assert "published" in jwt_secret_problem("change-me-to-a-long-random-secret")


def test_every_secret_written_in_the_docs_examples_or_compose_is_known_as_published():
    files = [
        ROOT / "README.md",
        ROOT / ".env.example",
        ROOT / "docker-compose.yml",
        *sorted((ROOT / "docs").glob("*.md")),
    ]
    written = set()
    for path in files:
        for value in re.findall(r"JWT_SEC[=:]\s*\$?\{?JWT_SEC:-([^}\s]+)\}|JWT_SEC=([A-Za-z0-9_-]+)", path.read_text()):
            written |= {v for v in value if v}
    assert written - PUBLISHED_JWT_SECRETS == set()


def run_with_secret(module: list[str], secret: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "JWT_SEC": secret, "KAFKA_URI": "127.0.0.1:1", "MONGO_URI": "mongodb://127.0.0.1:1"}
    return subprocess.run([sys.executable, *module], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_the_api_refuses_to_start_with_a_short_secret():
    done = run_with_secret(["-m", "http_api", "--port", "1"], "short")
    assert done.returncode != 0
    assert "refusing to start: JWT_SEC is shorter than 32 bytes" in done.stderr


def test_check_settings_names_a_missing_secret():
    done = run_with_secret(["-m", "http_api", "--check-settings"], "")
    assert done.returncode != 0
    assert "refusing to start: JWT_SEC is not set" in done.stderr


def test_check_settings_passes_a_strong_secret_without_serving():
    env = {"PATH": "/usr/bin:/bin", "JWT_SEC": STRONG}
    done = subprocess.run(
        [sys.executable, "-m", "http_api", "--check-settings"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "settings are good" in done.stdout
