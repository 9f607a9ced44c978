"""The token is read once a request, by the caller middleware: the in-flight share,
admission, access and the handlers all use what it found."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from http_api import auth
from tests.api.conftest import OWNER, add_order

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def token_reads(monkeypatch) -> list[int]:
    """One entry a time anything reads a request's token (every authentication does)."""
    reads: list[int] = []
    real = auth.token_of

    def counted(request):
        reads.append(1)
        return real(request)

    monkeypatch.setattr(auth, "token_of", counted)
    return reads


async def test_a_mutation_reads_its_token_once(client, store, token_reads):
    order_id = add_order(store, "pay-once")
    response = await client.post(f"/api/order/{order_id}/refund", headers=OWNER)
    assert response.status == 200
    assert len(token_reads) == 1


async def test_a_read_reads_its_token_once(client, store, token_reads):
    order_id = add_order(store, "pay-read")
    response = await client.get(f"/api/order/findOrder/{order_id}", headers=OWNER)
    assert response.status == 200
    assert len(token_reads) == 1


async def test_a_refused_token_is_read_once_too(client, token_reads):
    response = await client.post("/api/order/0123456789abcdef01234567/refund", headers={"Authorization": "Bearer x"})
    assert response.status == 401
    assert len(token_reads) == 1


def test_only_the_caller_module_authenticates():
    callers = set()
    for path in (ROOT / "http_api").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "authenticate":
                callers.add(path.name)
    assert callers == {"caller.py"}
