"""Errors as RFC 9457 problem documents (application/problem+json)."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Problem(web.HTTPException):
    """Raise to answer with a problem document."""

    def __init__(self, status: int, detail: str, *, response_headers: dict[str, str] | None = None, **extra: Any):
        self.status_code = status
        super().__init__()
        self.detail = detail
        self.response_headers = response_headers or {}
        self.extra = extra


def problem_response(
    request: web.Request, status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> web.Response:
    body = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.path,
        **extra,
    }
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="order-service"'
    return web.Response(status=status, text=json.dumps(body), content_type="application/problem+json", headers=headers)


@web.middleware
async def problems_middleware(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Problem as exc:
        return problem_response(request, exc.status_code, exc.detail, exc.response_headers, **exc.extra)
    except web.HTTPRequestEntityTooLarge:
        # Bad input is 400 (docs/http-api.md), however it is bad.
        return problem_response(request, 400, f"the request body is larger than {request.client_max_size} bytes")
    except web.HTTPException as exc:
        if exc.status_code < 400:
            raise
        return problem_response(request, exc.status_code, exc.reason or TITLES.get(exc.status_code, "Error"))
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(request, 500, "an unexpected error; it has been logged")
