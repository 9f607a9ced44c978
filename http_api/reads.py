"""Read routes: an order, a user's orders, a request's outcome."""

from __future__ import annotations

from aiohttp import web

from http_api import keys
from http_api.access import order_id_of, principal, visible_order
from http_api.outcomes import outcome_in
from http_api.problems import Problem
from http_api.views import decode_cursor, encode_cursor, order_view
from shared.domain.model import Status
from shared.schemas.requests import order_of_request

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


async def find_order(request: web.Request) -> web.Response:
    who = principal(request)
    doc = await visible_order(request, who, order_id_of(request))
    return web.json_response(order_view(doc))


async def find_user_orders(request: web.Request) -> web.Response:
    """Newest first, as a JSON array (as the original); the next page's cursor in
    ``X-Next-Cursor`` and a ``Link: rel="next"`` header."""
    who = principal(request)
    user_id = request.match_info["userId"]
    if not who.may_see(user_id):
        raise Problem(403, "you may list only your own orders")
    limit = _limit(request.query.get("limit"))
    status = request.query.get("status")
    if status is not None and status not in Status.__members__.values():
        raise Problem(400, f"status must be one of {', '.join(Status)}", invalidParams=[{"name": "status"}])
    after = None
    if request.query.get("cursor"):
        try:
            after = decode_cursor(request.query["cursor"])
        except ValueError as exc:
            raise Problem(400, str(exc), invalidParams=[{"name": "cursor"}]) from exc
    docs = await request.app[keys.STORE].find_by_user(user_id, status, after, limit + 1)
    page, more = docs[:limit], len(docs) > limit
    response = web.json_response([order_view(d) for d in page])
    if more:
        cursor = encode_cursor(page[-1])
        response.headers["X-Next-Cursor"] = cursor
        response.headers["Link"] = f'<{request.rel_url.update_query(cursor=cursor)}>; rel="next"'
    return response


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise Problem(400, f"limit must be an integer from 1 to {MAX_LIMIT}", invalidParams=[{"name": "limit"}])
    return int(raw)


async def request_status(request: web.Request) -> web.Response:
    who = principal(request)
    request_id = request.match_info["requestId"]
    order_id = order_of_request(request_id)
    if order_id is None:
        raise Problem(400, "not a request id of this API", invalidParams=[{"name": "requestId"}])
    doc = await visible_order(request, who, order_id, with_requests=True)
    return web.json_response(request_outcome(request_id, doc))


def request_outcome(request_id: str, doc: dict) -> dict:
    record = outcome_in(doc, request_id)
    if record is None:
        return {"requestId": request_id, "orderId": doc["_id"], "status": "pending"}
    if record["type"] == "RequestRejected":
        outcome = record["outcome"]
        return {
            "requestId": request_id,
            "orderId": doc["_id"],
            "status": "rejected",
            "reason": outcome["reason"],
            "detail": outcome.get("detail", ""),
        }
    return {"requestId": request_id, "orderId": doc["_id"], "status": "applied", "order": order_view(doc)}
