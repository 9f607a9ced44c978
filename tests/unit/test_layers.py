"""The layers import one way: the domain <- schemas, storage and config <- the edges
(the dataflow, the API) <- ops <- devkit (the development harness, not in the image).
No edge imports the other."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_HELPERS = {"shared.money", "shared.ids", "shared.timefmt"}  # plain functions the core uses


def layer(module: str) -> tuple[int, str]:
    """(rank, name): a module may import only from its own rank or below, and an edge not from the other."""
    if module.startswith("shared.domain") or module in DOMAIN_HELPERS:
        return 0, "domain"
    if module.startswith("shared"):
        return 1, "shared"
    if module.startswith("dataflows"):
        return 2, "dataflows"
    if module.startswith("http_api"):
        return 2, "http_api"
    if module.startswith("devkit"):
        return 4, "devkit"
    return 3, "ops"


def project_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n for n in names if n.split(".")[0] in {"shared", "dataflows", "http_api", "ops", "devkit", "bench"}}


def violations() -> list[str]:
    found = []
    for package in ("shared", "dataflows", "http_api", "ops", "devkit"):
        for path in sorted((ROOT / package).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            rank, name = layer(module)
            for imported in sorted(project_imports(path)):
                other_rank, other = layer(imported)
                if other_rank > rank or (other_rank == rank == 2 and other != name):
                    found.append(f"{module} imports {imported}")
    return found


def test_no_module_imports_a_layer_above_its_own_or_the_other_edge():
    assert violations() == []
