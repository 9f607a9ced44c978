"""Errors as RFC 9457 problem documents (application/problem+json)."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from bson.errors import InvalidDocument, InvalidStringData  # the errors, not documents: a 400, below
from confluent_kafka import KafkaException
from pymongo.errors import PyMongoError

from http_api.request_log import OWN_IDS
from shared.redact import mask_value

log = logging.getLogger(__name__)

RETRY_AFTER_S = 1
# The database or the broker not answering (a timeout, a refused connection, a full
# producer queue): the request may succeed later, so 503 with Retry-After, not 500.
UNAVAILABLE: tuple[type[BaseException], ...] = (PyMongoError, KafkaException, BufferError)

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
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
    # A card number in a path or a field echoed back is masked, not the service's own ids.
    text = json.dumps(mask_value(body, request.get(OWN_IDS, ())))
    return web.Response(status=status, text=text, content_type="application/problem+json", headers=headers)


@web.middleware
async def problems_middleware(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Problem as exc:
        return _answer(request, exc)
    except web.HTTPRequestEntityTooLarge:
        # Bad input is 400 (docs/http-api.md), however it is bad.
        return problem_response(request, 400, f"the request body is larger than {request.client_max_size} bytes")
    except web.HTTPException as exc:
        if exc.status_code < 400:
            raise
        return problem_response(request, exc.status_code, exc.reason or TITLES.get(exc.status_code, "Error"))
    except (InvalidDocument, InvalidStringData) as exc:
        # A value the database cannot hold or search for, which no check caught first.
        log.warning("%s %s: a value the database refuses: %s", request.method, request.path, str(exc)[:200])
        return problem_response(request, 400, "a value in the request cannot be stored or searched for")
    except UNAVAILABLE as exc:
        log.warning("%s %s: a server did not answer: %s", request.method, request.path, str(exc)[:300])
        detail = "a server this service needs did not answer in time; try again (with the same Idempotency-Key)"
        return _answer(request, unavailable(detail))
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(request, 500, "an unexpected error; it has been logged")


def _answer(request: web.Request, problem: Problem) -> web.Response:
    return problem_response(request, problem.status_code, problem.detail, problem.response_headers, **problem.extra)


def unavailable(detail: str, reason: str = "unavailable") -> Problem:
    """503 with Retry-After: ``unavailable`` (a server did not answer) or ``overloaded``."""
    return Problem(503, detail, response_headers={"Retry-After": str(RETRY_AFTER_S)}, reason=reason)
