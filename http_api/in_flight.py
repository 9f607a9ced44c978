"""How many requests this process works on at once: at most API_MAX_IN_FLIGHT, and at
most a share of them from one caller; the rest get 503 at once. A body is read here,
within API_BODY_TIMEOUT_S, so a slow one holds its place no longer than that."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from http_api.caller import caller_of
from http_api.metrics import Metrics
from http_api.problems import Problem, unavailable

UNCOUNTED = ("/health/", "/metrics")  # probes and scrapes answer even when the API is full
CALLER_SHARE = 4  # one caller holds at most 1/CALLER_SHARE of the in-flight places (at least one)


def in_flight_limit(limit: int, metrics: Metrics, body_timeout_s: float) -> Middleware:
    """At most ``limit`` requests at once, and at most a share of them from one caller
    (its ``Caller.key``: a user, or an address without a valid token); the next is
    503 at once. So a database or broker that stops answering holds at most ``limit``
    requests, and one caller (slow bodies, say) cannot hold them all. A body is read
    here, within ``body_timeout_s``: past it the answer is 408 and the place is freed."""
    in_flight = 0
    per_caller: dict[str, int] = {}
    caller_most = max(1, limit // CALLER_SHARE)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        nonlocal in_flight
        if request.path.startswith(UNCOUNTED):
            return await handler(request)
        caller = caller_of(request).key
        if in_flight >= limit:
            metrics.refused.labels("overloaded").inc()
            raise unavailable(f"this API process is working on {limit} requests already; try again", "overloaded")
        if per_caller.get(caller, 0) >= caller_most:
            metrics.refused.labels("overloaded-caller").inc()
            raise unavailable(
                f"you have {caller_most} requests in progress on this API process, the most one caller may; "
                "try again when one is answered",
                "overloaded",
            )
        in_flight += 1
        per_caller[caller] = per_caller.get(caller, 0) + 1
        metrics.in_flight.set(in_flight)
        try:
            await _read_body(request, body_timeout_s)
            return await handler(request)
        finally:
            in_flight -= 1
            left = per_caller.pop(caller) - 1
            if left:
                per_caller[caller] = left
            metrics.in_flight.set(in_flight)

    return middleware


async def _read_body(request: web.Request, timeout_s: float) -> None:
    """The whole body, kept for the handler (``request.read`` caches it), or 408."""
    if not request.body_exists:
        return
    try:
        await asyncio.wait_for(request.read(), timeout_s)
    except TimeoutError:
        raise Problem(
            408,
            f"the request body did not arrive within {timeout_s:g} s",
            response_headers={"Connection": "close"},
        ) from None
    except ConnectionResetError:  # the client went away mid-body: no one to answer, nothing wrong here
        raise Problem(400, "the connection closed before the body arrived") from None
