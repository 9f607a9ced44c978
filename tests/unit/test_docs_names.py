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
