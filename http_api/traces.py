"""The API's spans (shared/tracing.py): one a request, continuing a client's
``traceparent``; its mutations add the produce and the wait for the outcome."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from aiohttp import web

from shared import tracing

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def traced(request: web.Request, handler: Handler) -> web.StreamResponse:
    from opentelemetry.trace import SpanKind, Status, StatusCode

    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    parent = tracing.parent_from(request.headers)
    with tracing.tracer().start_as_current_span(
        f"{request.method} {route}", context=parent, kind=SpanKind.SERVER, record_exception=False
    ) as span:
        span.set_attribute("http.request.method", request.method)
        span.set_attribute("http.route", route)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            span.set_attribute("http.response.status_code", exc.status)
            raise
        except Exception as exc:
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        span.set_attribute("http.response.status_code", response.status)
        if response.status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        return response


def span(name: str) -> AbstractContextManager[Any]:
    """A child span of the request's, or nothing when tracing is off."""
    return tracing.tracer().start_as_current_span(name) if tracing.on() else nullcontext()
