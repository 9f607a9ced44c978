"""Order bodies are rendered once per revision."""

from __future__ import annotations

import json

from http_api.views import RenderedOrders
from shared.domain import handle
from shared.domain.model import Order, Status
from shared.storage import INTERNAL_FIELDS
from tests.unit.builders import pay

PAID, _ = handle(None, pay())


def order(revision: int, status: Status) -> Order:
    assert PAID is not None
    return PAID._replace(revision=revision, version=revision, status=status)


def test_a_body_is_the_orders_view_without_internal_fields():
    body = json.loads(RenderedOrders().body(order(1, Status.PENDING)))
    assert INTERNAL_FIELDS.isdisjoint(body), f"internal fields shown: {INTERNAL_FIELDS & set(body)}"
    assert (body["_id"], body["version"], body["status"]) == (PAID.id, 1, "Pending")


def test_money_is_shown_as_numbers():
    body = json.loads(RenderedOrders().body(order(1, Status.PENDING)))
    assert body["totalPrice"] == PAID.total_price / 100


def test_a_new_revision_is_rendered_anew():
    rendered = RenderedOrders()
    rendered.body(order(1, Status.PENDING))
    assert json.loads(rendered.body(order(2, Status.SHIPPED)))["status"] == "Shipped"


def test_no_more_bodies_are_kept_than_the_size_allows():
    rendered = RenderedOrders(size=2)
    for revision in range(1, 6):
        rendered.body(order(revision, Status.PENDING))
    assert len(rendered._bodies) == 2
