"""Who is asking, worked out once a request: ``caller_middleware`` reads its token
(Bearer, or the cookie) and keeps the ``Caller`` on the request. The in-flight share,
admission, the access checks and the handlers read it there; none reads the token again."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from http_api.auth import authenticate, by_cookie
from http_api.problems import Problem
from shared.domain.model import Actor


@dataclass(frozen=True)
class Caller:
    actor: Actor | None  # None: no valid token
    refusal: Problem | None  # why there is no actor: the 401 a route that needs one answers
    address: str | None
    by_cookie: bool  # the cookie, which a browser sends to any site's request, is the credential

    @property
    def key(self) -> str:
        """Whom the request counts against: its user, or its address without a valid token."""
        return f"user:{self.actor.user_id}" if self.actor is not None else f"address:{self.address}"

    @property
    def is_admin(self) -> bool:
        return self.actor is not None and self.actor.is_admin

    def required(self) -> Actor:
        """The actor, or the 401 that says why there is none."""
        if self.actor is None:
            raise self.refusal or Problem(401, "a token is required")
        return self.actor


CALLER = web.RequestKey("caller", Caller)


def resolve(request: web.Request, secret: str | None) -> Caller:
    cookie = by_cookie(request)
    try:
        return Caller(authenticate(request, secret), None, request.remote, cookie)
    except Problem as refusal:
        return Caller(None, refusal, request.remote, cookie)


def caller_middleware(secret: str | None) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        request[CALLER] = resolve(request, secret)
        return await handler(request)

    return middleware


def caller_of(request: web.Request) -> Caller:
    return request[CALLER]
