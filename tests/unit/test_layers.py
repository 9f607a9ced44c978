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


def runtime_nodes(tree: ast.AST):
    """Every node of ``tree`` but those under ``if TYPE_CHECKING:`` (never run)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            continue
        yield node
        yield from runtime_nodes(node)


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports when run, at any depth of the file (a
    function's own import too); ``from pkg import name`` counts as pkg.name when that is a module."""
    modules = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
        for package in ("shared", "dataflows", "http_api", "ops", "devkit", "bench")
        for p in (ROOT / package).rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        found = set()
        for node in runtime_nodes(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                subs = {f"{node.module}.{a.name}" for a in node.names} & modules.keys()
                found |= subs or ({node.module} & modules.keys())
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names} & modules.keys()
        graph[module] = found - {module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected group of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while (top := stack.pop()) != node:
                group.append(top)
            group.append(node)
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_modules_import_each_other_even_from_inside_a_function():
    assert cycles(import_graph()) == []


HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}


def route_words(path: Path) -> set[str]:
    """String constants of ``path`` that name an HTTP method or one of this API's paths
    (docstrings aside)."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
        and (node.value in HTTP_METHODS or node.value.startswith("/api/order"))
    }  # fmt: skip


def test_the_shared_layer_and_the_flow_name_no_route_of_the_api():
    """How a request kind is served (method, path) is http_api's: the shared layer and
    the flow, which storage and the dataflow import, hold none of it."""
    found = {
        f"{path.relative_to(ROOT)}: {word}"
        for package in ("shared", "dataflows")
        for path in sorted((ROOT / package).rglob("*.py"))
        for word in route_words(path)
    }
    assert found == set()
