"""The pure order domain: no I/O, no clock, no randomness.

Nothing here imports bytewax, confluent_kafka, pymongo or aiohttp.
"""

from shared.domain.applying import apply, apply_all
from shared.domain.commands import (
    AcceptPayment,
    Command,
    RefundOrder,
    RefundProduct,
    RejectInvalid,
    UpdateOrder,
)
from shared.domain.deciding import decide
from shared.domain.events import (
    Event,
    OrderCreated,
    OrderRefunded,
    OrderUpdated,
    ProductRefunded,
    RequestRejected,
)
from shared.domain.handling import handle
from shared.domain.model import Actor, Line, Order, Status

__all__ = [
    "AcceptPayment",
    "Actor",
    "Command",
    "Event",
    "Line",
    "Order",
    "OrderCreated",
    "OrderRefunded",
    "OrderUpdated",
    "ProductRefunded",
    "RefundOrder",
    "RefundProduct",
    "RejectInvalid",
    "RequestRejected",
    "Status",
    "UpdateOrder",
    "apply",
    "apply_all",
    "decide",
    "handle",
]
