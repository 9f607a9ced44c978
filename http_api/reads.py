"""Read routes: an order, a user's orders, a request's outcome."""

from __future__ import annotations

from aiohttp import web

from http_api import keys
from http_api.access import actor_of, order_id_of, visible_order
from http_api.outcomes import Decided, stored_outcome
from http_api.problems import Problem
from http_api.views import (
    decode_cursor,
    decode_history_cursor,
    encode_cursor,
    encode_history_cursor,
    history_entry,
    order_view,
    payment_entry,
    storable_text,
)
from http_api.wire import JsonObject
from shared.domain.model import Order, Status
from shared.schemas.inputs import MAX_ID
from shared.schemas.requests import order_of_request

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
REQUEST_STATUS_ROUTE = "request-status"  # the route a 202 names in its Location


async def find_order(request: web.Request) -> web.Response:
    """The order, with its version as ``ETag``; 304 when ``If-None-Match`` has it."""
    who = actor_of(request)
    order = await visible_order(request, who, order_id_of(request))
    tag = etag(order)
    if _matches(request.headers.get("If-None-Match", ""), tag):
        return web.Response(status=304, headers={"ETag": tag})
    body = request.app[keys.RENDERED].body(order)
    return web.Response(body=body, content_type="application/json", headers={"ETag": tag})


def etag(order: Order) -> str:
    """An order's version (what ``If-Match`` on PATCH takes): every change the API
    shows moves it on."""
    return f'"{order.version}"'


def _matches(if_none_match: str, tag: str) -> bool:
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return tag in tags or "*" in tags


async def find_user_orders(request: web.Request) -> web.Response:
    """Newest first, as a JSON array (as the original); the next page's cursor in
    ``X-Next-Cursor`` and a ``Link: rel="next"`` header."""
    who = actor_of(request)
    user_id = request.match_info["userId"]
    if not storable_text(user_id):
        raise Problem(400, f"userId must be text of at most {MAX_ID} characters", invalidParams=[{"name": "userId"}])
    if not who.acts_for(user_id):
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
    orders = await request.app[keys.STORE].find_by_user(user_id, status, after, limit + 1)
    more = len(orders) > limit
    cursor = encode_cursor(orders[limit - 1]) if more else ""
    return _page(request, [order_view(o) for o in orders[:limit]], cursor, more)


async def order_history(request: web.Request) -> web.Response:
    """Every command that reached the order, oldest first, a page at a time."""
    who = actor_of(request)
    order_id = order_id_of(request)
    order = await visible_order(request, who, order_id)
    limit = _limit(request.query.get("limit"))
    after = 0
    if request.query.get("cursor"):
        try:
            after = decode_history_cursor(request.query["cursor"])
        except ValueError as exc:
            raise Problem(400, str(exc), invalidParams=[{"name": "cursor"}]) from exc
    head = [payment_entry(order)] if after < 1 else []
    records = await request.app[keys.STORE].history(order_id, max(after, 1), limit + 1 - len(head))
    entries = head + [history_entry(r) for r in records]
    more = len(entries) > limit
    cursor = encode_history_cursor(entries[limit - 1]) if more else ""
    return _page(request, entries[:limit], cursor, more)


def _page(request: web.Request, items: list, cursor: str, more: bool) -> web.Response:
    """A JSON array; when there is more, the next page's cursor in ``X-Next-Cursor``
    and a ``Link: rel="next"`` header."""
    response = web.json_response(items)
    if more:
        response.headers["X-Next-Cursor"] = cursor
        response.headers["Link"] = f'<{request.rel_url.update_query(cursor=cursor)}>; rel="next"'
    return response


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise Problem(400, f"limit must be an integer from 1 to {MAX_LIMIT}", invalidParams=[{"name": "limit"}])
    return int(raw)


async def request_status(request: web.Request) -> web.Response:
    who = actor_of(request)
    request_id = request.match_info["requestId"]
    order_id = order_of_request(request_id)
    if order_id is None:
        raise Problem(400, "not a request id of this API", invalidParams=[{"name": "requestId"}])
    order = await visible_order(request, who, order_id)
    decided = await stored_outcome(request.app[keys.STORE], order_id, request_id)
    return web.json_response(request_outcome(request_id, decided, order))


def request_outcome(request_id: str, decided: Decided | None, order: Order) -> JsonObject:
    """``order``: as the route read it, shown when ``decided`` has none newer."""
    if decided is None:
        return {"requestId": request_id, "orderId": order.id, "status": "pending"}
    if decided.reason is not None:
        return {
            "requestId": request_id,
            "orderId": order.id,
            "status": "rejected",
            "reason": decided.reason,
            "detail": decided.detail,
        }
    newest = decided.order if decided.order is not None else order
    return {"requestId": request_id, "orderId": order.id, "status": "applied", "order": order_view(newest)}
