"""Every route of the API, in one table (documented in docs/http-api.md); the mutating
ones are each request kind's (``shared.schemas.request_kinds``)."""

from __future__ import annotations

from aiohttp import web

from http_api import docs_page, health, mutations, reads, topic_contracts
from http_api.openapi import openapi
from http_api.served_kinds import BASE, routes_of
from shared.schemas.request_kinds import REQUEST_KINDS


def setup_routes(app: web.Application, metrics_here: bool = True) -> None:
    """``metrics_here``: False when /metrics has a port of its own (API_METRICS_PORT)."""
    app.router.add_routes(
        [
            web.get(f"{BASE}/openapi.json", openapi),
            web.get(docs_page.BASE, docs_page.page),
            web.get(topic_contracts.ROUTE, topic_contracts.index),
            web.get(f"{topic_contracts.ROUTE}/{{topic}}", topic_contracts.schema),
            web.get(f"{docs_page.BASE}/{{asset}}", docs_page.asset),
            web.get(f"{BASE}/find/{{userId}}", reads.find_user_orders),
            web.get(f"{BASE}/findOrder/{{orderId}}", reads.find_order),
            web.get(f"{BASE}/requests/{{requestId}}", reads.request_status, name=reads.REQUEST_STATUS_ROUTE),
            web.get(f"{BASE}/{{orderId}}/history", reads.order_history),
            *(
                web.route(route.method, BASE + route.path, mutations.mutation(kind, route))
                for kind in REQUEST_KINDS.values()
                for route in routes_of(kind)
            ),
            web.get("/health/live", health.live),
            web.get("/health/ready", health.ready),
        ]
    )
    if metrics_here:
        app.router.add_get("/metrics", health.metrics)
