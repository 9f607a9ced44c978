"""Every route of the API, in one table (documented in docs/http-api.md): each fixed
route with its handler and its OpenAPI operation, so the OpenAPI document is made from
the table the router is (``openapi.spec``); the mutating routes are each request kind's
(``http_api.served_kinds``)."""

from __future__ import annotations

from typing import NamedTuple

from aiohttp import web
from aiohttp.typedefs import Handler

from http_api import docs_page, health, mutations, openapi, reads, topic_contracts
from http_api.served_kinds import BASE, routes_of
from http_api.wire import JsonObject
from shared.schemas.request_kinds import REQUEST_KINDS


class Served(NamedTuple):
    method: str
    path: str
    handler: Handler
    operation: JsonObject
    name: str | None = None


def openapi_document() -> JsonObject:
    """The OpenAPI document of every route, made from this table when asked."""
    return openapi.spec((r.method, r.path, r.operation) for r in FIXED)


async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


FIXED: tuple[Served, ...] = (
    Served("GET", f"{BASE}/openapi.json", _openapi, openapi.THIS_DOCUMENT),
    Served("GET", docs_page.BASE, docs_page.page, openapi.DOCS_PAGE),
    Served("GET", f"{docs_page.BASE}/{{asset}}", docs_page.asset, openapi.DOCS_ASSET),
    Served("GET", topic_contracts.ROUTE, topic_contracts.index, openapi.SCHEMAS_INDEX),
    Served("GET", f"{topic_contracts.ROUTE}/{{topic}}", topic_contracts.schema, openapi.TOPIC_SCHEMA),
    Served("GET", f"{BASE}/find/{{userId}}", reads.find_user_orders, openapi.FIND_USER_ORDERS),
    Served("GET", f"{BASE}/findOrder/{{orderId}}", reads.find_order, openapi.FIND_ORDER),
    Served("GET", f"{BASE}/requests/{{requestId}}", reads.request_status, openapi.REQUEST_STATUS,
           reads.REQUEST_STATUS_ROUTE),
    Served("GET", f"{BASE}/{{orderId}}/history", reads.order_history, openapi.ORDER_HISTORY),
    Served("GET", "/health/live", health.live, openapi.LIVE),
    Served("GET", "/health/ready", health.ready, openapi.READY),
    Served("GET", "/metrics", health.metrics, openapi.METRICS),
)  # fmt: skip


def setup_routes(app: web.Application, metrics_here: bool = True) -> None:
    """``metrics_here``: False when /metrics has a port of its own (API_METRICS_PORT)."""
    fixed = [r for r in FIXED if metrics_here or r.path != "/metrics"]
    app.router.add_routes(
        [
            *(web.route(r.method, r.path, r.handler, name=r.name) for r in fixed),
            *(
                web.route(route.method, BASE + route.path, mutations.mutation(kind, route))
                for kind in REQUEST_KINDS.values()
                for route in routes_of(kind)
            ),
        ]
    )
