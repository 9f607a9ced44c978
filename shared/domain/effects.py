"""What an event moves outside the order: stock and money. Pure."""

from __future__ import annotations

from shared.domain.events import Event, OrderCreated, OrderRefunded, OrderUpdated, ProductRefunded


def stock_changes(event: Event) -> list[tuple[str, int, str]]:
    """(productId, signed delta, reason) for every stock movement of an event."""
    if isinstance(event, OrderCreated):
        return [(line.product_id, -line.quantity, "order-created") for line in event.lines]
    if isinstance(event, OrderRefunded) or (isinstance(event, OrderUpdated) and event.restocked):
        return [(p, q, "order-refunded") for p, q in event.restocked]
    if isinstance(event, ProductRefunded):
        return [(event.product_id, event.quantity, "product-refunded")]
    return []


def charged(event: Event) -> int:
    """Cents the customer paid with this event."""
    return event.total_price if isinstance(event, OrderCreated) else 0


def refunded(event: Event) -> int:
    """Cents given back to the customer with this event."""
    if isinstance(event, (OrderRefunded, ProductRefunded, OrderUpdated)):
        return event.amount
    return 0
