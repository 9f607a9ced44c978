"""Prometheus metrics of the API, on its own registry."""

from __future__ import annotations

import time

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "order_api_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "order_api_request_seconds", "HTTP request latency", ["method", "route"], registry=self.registry
        )
        self.outcome_wait = Histogram(
            "order_api_outcome_wait_seconds", "time waiting for a request's outcome", registry=self.registry
        )
        self.refused = Counter(
            "order_api_refused_total",
            "mutations refused by a defence: cross-site, rate-limit (by who), idempotency-keys",
            ["reason"],
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "order_api_in_flight_requests",
            "requests being worked on (API_MAX_IN_FLIGHT bounds it)",
            registry=self.registry,
        )
        self.outcome_timeouts = Counter(
            "order_api_outcome_timeouts_total", "requests answered 202 for want of an outcome", registry=self.registry
        )

    def render(self) -> web.Response:
        return web.Response(body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


def route_of(request: web.Request) -> str:
    info = request.match_info
    resource = info.route.resource if info.route is not None else None
    return resource.canonical if resource is not None else "unmatched"


def metrics_middleware(metrics: Metrics):
    @web.middleware
    async def middleware(request: web.Request, handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status_code
            raise
        finally:
            route = route_of(request)
            metrics.requests.labels(request.method, route, str(status)).inc()
            metrics.latency.labels(request.method, route).observe(time.perf_counter() - started)

    return middleware
