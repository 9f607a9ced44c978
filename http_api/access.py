"""Who is asking and which order they may touch: shared by every route."""

from __future__ import annotations

from aiohttp import web

from http_api import keys
from http_api.caller import caller_of
from http_api.problems import Problem
from http_api.request_log import made_here
from shared.domain.model import Actor, Order
from shared.schemas.requests import ORDER_ID


def actor_of(request: web.Request) -> Actor:
    """The caller, who must have a valid token (401 otherwise)."""
    return caller_of(request).required()


def order_id_of(request: web.Request) -> str:
    order_id = request.match_info["orderId"]
    if not ORDER_ID.match(order_id):
        raise Problem(400, "orderId must be 24 lowercase hex characters", invalidParams=[{"name": "orderId"}])
    return order_id


async def visible_order(request: web.Request, who: Actor, order_id: str) -> Order:
    """The order, when it exists and ``who`` owns it or is an admin."""
    order = await request.app[keys.STORE].get(order_id)
    if order is None:
        raise Problem(404, f"no order {order_id}")
    made_here(request, order_id)
    if not order.owned_by(who):
        raise Problem(403, "this order belongs to another user")
    return order
