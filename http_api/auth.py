"""JWT authentication: HS256 only, ``exp`` required, claims as the user service issues them."""

from __future__ import annotations

import time

import jwt
from aiohttp import web

from http_api.problems import Problem
from shared.domain.model import Actor

ALGORITHMS = ["HS256"]
VERIFIED_CACHE_SIZE = 4_096  # tokens whose signature was checked, kept to skip the HMAC on the next call


def token_of(request: web.Request) -> str | None:
    """The Bearer token, else the ``token`` cookie's."""
    return _bearer(request) or request.cookies.get("token") or None


def by_cookie(request: web.Request) -> bool:
    """Whether the cookie, which a browser attaches to any site's request, is the credential."""
    return _bearer(request) is None and bool(request.cookies.get("token"))


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


def authenticate(request: web.Request, secret: str | None) -> Actor:
    token = token_of(request)
    if token is None:
        raise Problem(401, "a token is required (Authorization: Bearer or the token cookie)")
    if not secret:
        raise Problem(401, "the service has no JWT_SEC configured, so no token is valid")
    return _verified(token, secret, time.time())


# (token, secret) -> (who, not before, expiry): a token's bytes and signature do not
# change, so a token verified once needs only its times checked again.
_VERIFIED: dict[tuple[str, str], tuple[Actor, float, float]] = {}


def _verified(token: str, secret: str, now: float) -> Actor:
    known = _VERIFIED.get((token, secret))
    if known is not None:
        who, not_before, expiry = known
        if now >= expiry:
            del _VERIFIED[(token, secret)]
            raise Problem(401, "the token has expired")
        if now < not_before:
            raise Problem(401, "the token is not valid: The token is not yet valid (nbf or iat)")
        return who
    try:
        claims = jwt.decode(token, secret, algorithms=ALGORITHMS, options={"require": ["exp"]})
    except jwt.ExpiredSignatureError as exc:
        raise Problem(401, "the token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise Problem(401, f"the token is not valid: {exc}") from exc
    who = _actor(claims)
    if len(_VERIFIED) >= VERIFIED_CACHE_SIZE:
        del _VERIFIED[next(iter(_VERIFIED))]  # the oldest
    not_before = max(float(claims.get(claim, float("-inf"))) for claim in ("nbf", "iat"))
    _VERIFIED[(token, secret)] = (who, not_before, float(claims["exp"]))
    return who


def _actor(claims: dict) -> Actor:
    user_id, roles = claims.get("userId"), claims.get("userType", [])
    if isinstance(roles, str):
        roles = [roles]
    if not isinstance(user_id, str) or not user_id or not isinstance(roles, list):
        raise Problem(401, "the token lacks a userId or has a malformed userType")
    return Actor(user_id, tuple(r for r in roles if isinstance(r, str)))


def issue_token(
    secret: str, user_id: str, roles: list[str], ttl_seconds: int = 86_400, now: float | None = None
) -> str:
    """A token like the user service's, for development and tests."""
    issued = int(now if now is not None else time.time())
    claims = {"userId": user_id, "userType": roles, "iat": issued, "exp": issued + ttl_seconds}
    return jwt.encode(claims, secret, algorithm="HS256")
