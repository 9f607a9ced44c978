"""Which request a log line is about, and the access log.

Every HTTP request gets a ``requestId``: a mutation's is the id of the order
request it publishes (the one the dataflow logs, and ``X-Request-Id`` answers),
a poll's the one it asks about, any other a fresh one. With the ``orderId`` from
the path it is on every line logged while the request is handled, and on its
access-log line."""

from __future__ import annotations

import itertools
import logging
import re
import secrets

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from shared.logs import bind, bound
from shared.schemas.requests import ORDER_ID

REQUEST_ID = web.RequestKey("request_id", str)
ORDER = web.RequestKey("order_id", str)
# Ids this service made that the request has met (its order's, once found; its request
# id): the card masker leaves them whole in the answer (``problems.problem_response``).
OWN_IDS = web.RequestKey("own_ids", set)
_PLAUSIBLE_REQUEST_ID = re.compile(r"^[0-9A-Za-z_.:-]{1,160}$")
QUIET_PREFIXES = ("/health", "/metrics")  # probes and scrapes: access-logged at DEBUG only
# Ids of requests that are no order request: unique, not secret, so a random tag per
# process and a counter (os.urandom a request showed in the profile of a refund).
_PROCESS_TAG = secrets.token_hex(4)
_COUNT = itertools.count(1)


def fresh_id() -> str:
    return f"{_PROCESS_TAG}-{next(_COUNT):x}"


@web.middleware
async def request_fields(request: web.Request, handler) -> web.StreamResponse:
    asked = request.match_info.get("requestId", "")
    request_id = asked if _PLAUSIBLE_REQUEST_ID.match(asked) else fresh_id()
    order_id = request.match_info.get("orderId", "")
    request[REQUEST_ID] = request_id
    if ORDER_ID.match(order_id):
        request[ORDER] = order_id
    with bound(requestId=request_id, orderId=request.get(ORDER)):
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers.setdefault("X-Request-Id", request[REQUEST_ID])
            raise
    response.headers.setdefault("X-Request-Id", request[REQUEST_ID])
    return response


def name_request(request: web.Request, request_id: str) -> None:
    """From here on, this HTTP request is the order request ``request_id``."""
    request[REQUEST_ID] = request_id
    made_here(request, request_id)
    bind(requestId=request_id)


def made_here(request: web.Request, *ids: str) -> None:
    """``ids`` are this service's own (a stored order's, a request's it made), not a
    client's text: answers show them whole (``OWN_IDS``)."""
    request.setdefault(OWN_IDS, set()).update(ids)


class AccessLog(AbstractAccessLogger):
    """A line a request: method, path, status, milliseconds, and the request's fields."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        quiet = request.path.startswith(QUIET_PREFIXES)
        level = logging.DEBUG if quiet else logging.INFO
        if not self.logger.isEnabledFor(level):
            return
        fields = {"method": request.method, "path": request.path, "status": response.status, "ms": round(time * 1e3, 1)}
        fields |= {k: v for k, v in (("requestId", request.get(REQUEST_ID)), ("orderId", request.get(ORDER))) if v}
        self.logger.log(level, "%s %s %s", request.method, request.path, response.status, extra=fields)
