"""A token verified once is remembered, and its times are still checked on every use."""

from __future__ import annotations

import time

import jwt
import pytest

from http_api.auth import _VERIFIED, _verified
from http_api.problems import Problem
from shared.domain.model import Actor

SECRET = "a-test-secret-of-enough-length-0123456789"


def signed(claims: dict, key: str = SECRET) -> str:
    return jwt.encode(claims, key, algorithm="HS256")


@pytest.fixture
def t0() -> int:
    """Now: PyJWT checks a token's times against the clock too, so the tests' times
    are taken when each runs (once taken at import, a long run saw them expire)."""
    return int(time.time())


@pytest.fixture(autouse=True)
def empty_cache():
    _VERIFIED.clear()
    yield
    _VERIFIED.clear()


def test_a_remembered_token_gives_the_same_actor(t0):
    token = signed({"userId": "u1", "userType": ["admin"], "iat": t0 - 10, "exp": t0 + 60})
    first = _verified(token, SECRET, t0 - 5)
    assert first == Actor("u1", ("admin",))
    assert _verified(token, SECRET, t0) == first


def test_a_remembered_token_is_refused_once_it_expires(t0):
    token = signed({"userId": "u1", "iat": t0 - 10, "exp": t0 + 60})
    _verified(token, SECRET, t0)
    with pytest.raises(Problem) as refused:
        _verified(token, SECRET, t0 + 60)
    assert refused.value.status_code == 401
    assert "expired" in refused.value.detail


def test_a_token_remembered_under_one_secret_is_checked_again_under_another(t0):
    token = signed({"userId": "u1", "exp": t0 + 60})
    _verified(token, SECRET, t0)
    with pytest.raises(Problem) as refused:
        _verified(token, "another-secret-of-enough-length-0123456", t0)
    assert refused.value.status_code == 401


def test_a_remembered_token_is_not_valid_before_its_nbf(t0):
    token = signed({"userId": "u1", "nbf": t0 - 5, "exp": t0 + 60})
    _verified(token, SECRET, t0)
    with pytest.raises(Problem) as refused:
        _verified(token, SECRET, t0 - 6)
    assert "not yet valid" in refused.value.detail
