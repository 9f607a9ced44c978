"""An order's document is turned into an Order once per revision."""

from __future__ import annotations

from http_api.mongo_store import ReadOrders
from shared.domain import handle
from shared.domain.model import Order, Status
from shared.storage import CLIENT_READ, order_to_doc
from tests.unit.builders import pay

PAID, _ = handle(None, pay())


def doc(revision: int, status: Status = Status.PENDING) -> dict:
    assert PAID is not None
    order = PAID._replace(revision=revision, version=revision, status=status)
    return {k: v for k, v in order_to_doc(order).items() if k not in CLIENT_READ}


def test_a_document_reads_as_its_order():
    read = ReadOrders().of(doc(1))
    assert isinstance(read, Order)
    assert (read.id, read.revision, read.total_price) == (PAID.id, 1, PAID.total_price)


def test_a_revision_read_again_is_the_order_read_before():
    orders = ReadOrders()
    assert orders.of(doc(1)) is orders.of(doc(1))


def test_a_new_revision_is_read_anew():
    orders = ReadOrders()
    orders.of(doc(1))
    assert orders.of(doc(2, Status.SHIPPED)).status == Status.SHIPPED


def test_no_more_orders_are_kept_than_the_size_allows():
    orders = ReadOrders(size=2)
    for revision in range(1, 6):
        orders.of(doc(revision))
    assert len(orders._orders) == 2
