"""Liveness, readiness and metrics."""

from __future__ import annotations

import asyncio

from aiohttp import web

from http_api import keys

READY_TIMEOUT = 3.0


async def live(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    checks = {"mongo": request.app[keys.STORE].ping(), "kafka": request.app[keys.PUBLISHER].ping()}
    results = await asyncio.gather(
        *(asyncio.wait_for(c, READY_TIMEOUT) for c in checks.values()), return_exceptions=True
    )
    report = {
        name: "ok" if not isinstance(r, BaseException) else f"down: {r!r}"
        for name, r in zip(checks, results, strict=True)
    }
    report["outcomes"] = "ok" if request.app[keys.FEED].running() else "down: the outcome feed is restarting"
    healthy = all(v == "ok" for v in report.values())
    return web.json_response(
        {"status": "ok" if healthy else "unavailable", "checks": report}, status=200 if healthy else 503
    )


async def metrics(request: web.Request) -> web.Response:
    return request.app[keys.METRICS].render()
