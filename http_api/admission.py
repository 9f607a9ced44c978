"""Who may send a mutation now: every mutating route is admitted here first.

In order: a request the token cookie authenticates must come from this site
(``cross_site``); the token must be valid; the caller must be within its rate
(``rate_limits``): per user, per admin, or, without a valid token, per client
address. Limits are per process: with ``RATE_LIMIT_PROCESSES`` = N behind a
balancer that spreads requests evenly, each process enforces 1/N of the rate and
of the burst, so together they never allow more than the setting (docs/http-api.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web

from http_api import keys
from http_api.caller import caller_of
from http_api.cross_site import cross_site_source
from http_api.metrics import Metrics
from http_api.problems import Problem
from http_api.rate_limits import CreditBuckets, too_many_requests
from shared.config import Settings
from shared.domain.model import Actor
from shared.rates import Rate


class Admission:
    def __init__(self, settings: Settings, metrics: Metrics, clock: Callable[[], float] = time.monotonic):
        share = settings.rate_limit_processes

        def buckets(rate: Rate | None) -> CreditBuckets | None:
            return None if rate is None else CreditBuckets(rate.shared_by(share), clock)

        self._users = buckets(settings.rate_limit_mutations)
        self._admins = buckets(settings.rate_limit_admin)
        self._anonymous = buckets(settings.rate_limit_anonymous)
        self._allowed_origins = settings.allowed_origins
        self._metrics = metrics

    def admit(self, request: web.Request) -> Actor:
        caller = caller_of(request)
        if caller.by_cookie:
            self._refuse_cross_site(request)
        if caller.actor is None:
            self._limit(self._anonymous, f"address {caller.address}", "anonymous")
        who = caller.required()
        if who.is_admin:
            self._limit(self._admins, who.user_id, "admin")
        else:
            self._limit(self._users, who.user_id, "user")
        return who

    def _refuse_cross_site(self, request: web.Request) -> None:
        source = cross_site_source(request, self._allowed_origins)
        if source is None:
            return
        self._metrics.refused.labels("cross-site").inc()
        raise Problem(
            403,
            f"a cross-site request ({source}) may not change an order with the token cookie: "
            "send it from this site, or with an Authorization: Bearer token",
            reason="cross-site",
        )

    def _limit(self, buckets: CreditBuckets | None, key: str, who: str) -> None:
        if buckets is None:
            return
        wait = buckets.take(key)
        if wait == 0:
            return
        self._metrics.refused.labels(f"rate-limit-{who}").inc()
        raise too_many_requests(
            f"too many changes: this server allows {buckets.rate} per {who}; try again in {wait:.1f} s",
            wait,
            "rate-limited",
        )


ADMITTED = web.RequestKey("admitted", Actor)


def admits(handler):
    """Marks ``handler`` as a mutation's: ``admission_middleware`` admits its requests first."""
    handler.admits = True
    return handler


@web.middleware
async def admission_middleware(request: web.Request, handler) -> web.StreamResponse:
    """Admits a mutation before anything else is spent on it (its span among them: a
    refused request makes none, whatever sampling a client's ``traceparent`` asks for)."""
    if getattr(request.match_info.handler, "admits", False):
        request[ADMITTED] = request.app[keys.ADMISSION].admit(request)
    return await handler(request)
