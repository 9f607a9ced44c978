"""The README and docs/ name only what the code has: every Python file they name
exists, and every name they place in a file (``name``, in ``file.py``) is defined there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SOURCES = [p for p in ROOT.rglob("*.py") if not {".venv", ".cache", ".data"} & set(p.relative_to(ROOT).parts)]
FILE = re.compile(r"`([\w./-]+\.py)`")
PLACED = re.compile(r"`(\w+)`,? in `([\w/]+\.py)`")


def _exists(name: str) -> bool:
    if "/" in name:
        return (ROOT / name).exists() or any(str(p).endswith("/" + name) for p in SOURCES)
    return any(p.name == name for p in SOURCES)


def _defined(name: str, file: str) -> bool:
    found = [p for p in SOURCES if str(p).endswith("/" + file)]
    pattern = re.compile(rf"^\s*(?:async def|def|class)\s+{name}\b|^\s*{name}\s*[:=]", re.MULTILINE)
    return any(pattern.search(p.read_text()) for p in found)


def test_every_python_file_the_docs_name_exists():
    missing = {f"{page.name}: {name}" for page in PAGES for name in FILE.findall(page.read_text()) if not _exists(name)}
    assert missing == set()


def test_every_name_the_docs_place_in_a_file_is_defined_there():
    missing = {
        f"{page.name}: {name} in {file}"
        for page in PAGES
        for name, file in PLACED.findall(page.read_text())
        if not _defined(name, file)
    }
    assert missing == set()


MODULE = re.compile(r"python3? -m ([\w.]+)")
REPO_PATH = re.compile(r"`((?:deploy|docs|tests|devkit|ops|shared|http_api|dataflows|bench|tools)/[\w./-]+)`")
OTHERS = ("bytewax.", "pip", "venv", "pytest", "http.server")  # modules of installed packages


def _module_exists(module: str) -> bool:
    path = ROOT / module.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__main__.py").is_file() or module.startswith(OTHERS)


def test_every_module_the_docs_run_with_python_m_exists():
    missing = {f"{page.name}: {m}" for page in PAGES for m in MODULE.findall(page.read_text()) if not _module_exists(m)}
    assert missing == set()


def test_every_path_in_the_repository_the_docs_name_exists():
    """deploy/k8s/config.yaml moved to deploy/k8s/base/: a page that still names it fails here."""
    named = {(page.name, p.rstrip(".,:")) for page in PAGES for p in REPO_PATH.findall(page.read_text())}
    missing = {f"{page}: {p}" for page, p in named if "*" not in p and "<" not in p and not (ROOT / p).exists()}
    assert missing == set()
