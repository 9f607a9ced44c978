"""Liveness, readiness and metrics.

Readiness probes Mongo and Kafka at most once a second, whoever asks and however
often (``readiness``). Only an admin's token is shown why a check is down; anyone
else sees "down"."""

from __future__ import annotations

import asyncio

from aiohttp import web

from http_api import keys
from http_api.caller import caller_of

READY_TIMEOUT = 3.0


async def probe(app: web.Application) -> dict[str, str]:
    checks = {"mongo": app[keys.STORE].ping(), "kafka": app[keys.PUBLISHER].ping()}
    results = await asyncio.gather(
        *(asyncio.wait_for(c, READY_TIMEOUT) for c in checks.values()), return_exceptions=True
    )
    report = {
        name: "ok" if not isinstance(r, BaseException) else f"down: {type(r).__name__}: {str(r)[:300]}"
        for name, r in zip(checks, results, strict=True)
    }
    report["outcomes"] = "ok" if app[keys.FEED].running() else "down: the outcome feed is restarting"
    return report


def _for_caller(request: web.Request, report: dict[str, str]) -> dict[str, str]:
    """The report as ``request``'s caller may see it: why a check is down, for admins only."""
    if caller_of(request).is_admin:
        return report
    return {name: "ok" if value == "ok" else "down" for name, value in report.items()}


async def live(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    report = await request.app[keys.READINESS].report()
    healthy = all(v == "ok" for v in report.values())
    return web.json_response(
        {"status": "ok" if healthy else "unavailable", "checks": _for_caller(request, report)},
        status=200 if healthy else 503,
    )


async def metrics(request: web.Request) -> web.Response:
    return request.app[keys.METRICS].render()
