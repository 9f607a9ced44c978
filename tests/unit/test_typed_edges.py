"""The edges work with typed values: the API with orders and records, not their
documents; the flow and the core ask "payment or request?" in one place."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Where documents may be: the store reads them, and ``wire`` names the JSON objects.
DOCUMENT_HOLDERS = {"mongo_store.py", "wire.py"}
# ``payment_lookup`` asks another question of its parse: a whole payment, or only its id?
OTHER_QUESTION = {ROOT / "dataflows" / "payment_lookup.py"}


def python_files(*packages: str) -> list[Path]:
    return sorted(path for package in packages for path in (ROOT / package).rglob("*.py"))


def test_the_api_spells_no_untyped_document_outside_the_store_and_the_wire():
    found = [
        f"{path.name}:{n}"
        for path in python_files("http_api")
        if path.name not in DOCUMENT_HOLDERS
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "dict[str, Any]" in line
    ]
    assert found == [], f"untyped documents in the API: {found}"


def test_the_api_imports_bson_only_for_its_errors():
    imports = [
        f"{path.name}: {line.strip()}"
        for path in python_files("http_api")
        for line in path.read_text().splitlines()
        if re.match(r"\s*(from|import) bson\b", line) and not line.strip().startswith("from bson.errors import")
    ]
    assert imports == [], f"the API reads BSON itself: {imports}"


def asks_payment_or_request(node: ast.AST) -> bool:
    """``isinstance(x, AcceptPayment)`` (or a tuple naming it)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "isinstance"):
        return False
    return len(node.args) == 2 and "AcceptPayment" in ast.unparse(node.args[1])


def test_payment_or_request_is_asked_only_by_is_payment():
    askers = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in python_files("shared", "dataflows", "http_api")
        if path not in OTHER_QUESTION
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and asks_payment_or_request(node)
    ]
    assert askers == ["shared/domain/commands.py:" + str(_is_payment_line())], askers


def _is_payment_line() -> int:
    tree = ast.parse((ROOT / "shared" / "domain" / "commands.py").read_text())
    (function,) = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "is_payment"]
    return next(n.lineno for n in ast.walk(function) if isinstance(n, ast.Call) and asks_payment_or_request(n))


def test_no_command_is_probed_for_a_field():
    probes = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in python_files("shared", "dataflows", "http_api")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and ast.unparse(node.args[0]) in {"command", "cmd", "value.command"}
    ]
    assert probes == [], f"getattr on a command (read it through shared.domain.commands.Request): {probes}"


def test_only_the_entry_points_read_the_fault_switch():
    readers = sorted(
        str(path.relative_to(ROOT))
        for path in python_files("shared", "dataflows", "http_api")
        if "FaultPoints.from_environment(" in path.read_text()
    )
    assert readers == ["dataflows/main.py", "http_api/__main__.py"], readers
