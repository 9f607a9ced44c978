"""Order bodies are rendered once per revision."""

from __future__ import annotations

import json

from http_api.views import RenderedOrders


def doc(revision: int, status: str) -> dict:
    return {"_id": "o1", "revision": revision, "version": revision, "status": status, "origin": {}}


def test_a_body_is_the_orders_view_without_internal_fields():
    body = json.loads(RenderedOrders().body(doc(1, "Pending")))
    assert body == {"_id": "o1", "version": 1, "status": "Pending"}


def test_a_new_revision_is_rendered_anew():
    rendered = RenderedOrders()
    rendered.body(doc(1, "Pending"))
    assert json.loads(rendered.body(doc(2, "Shipped")))["status"] == "Shipped"


def test_no_more_bodies_are_kept_than_the_size_allows():
    rendered = RenderedOrders(size=2)
    for revision in range(1, 6):
        rendered.body(doc(revision, "Pending"))
    assert len(rendered._bodies) == 2
