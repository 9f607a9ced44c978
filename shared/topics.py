"""The topic registry: every topic the service reads or writes, with its name,
what its messages carry and what they are keyed by (payloads: docs/topics.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from functools import cached_property


class Kind(StrEnum):
    """What a topic's messages are; the three input kinds name their parsers."""

    PAYMENT = "payment"
    REFUND = "refund"
    UPDATE = "update"
    STOCK = "stock"
    ORDER_EVENT = "order-event"
    DEAD_LETTER = "dead-letter"
    COMPAT = "compat"


INPUT_KINDS = frozenset({Kind.PAYMENT, Kind.REFUND, Kind.UPDATE})


@dataclass(frozen=True)
class Topic:
    role: str  # its setting is TOPIC_<ROLE>
    name: str
    kind: str  # a Kind, or a request kind's own (shared.schemas.request_kinds)
    key: str  # the field its messages are keyed by

    @property
    def setting(self) -> str:
        return f"TOPIC_{self.role.upper()}"


@dataclass(frozen=True)
class Topics:
    payment_accepted: Topic = Topic("payment_accepted", "payment-accepted", Kind.PAYMENT, "paymentId")
    refund_request: Topic = Topic("refund_request", "refund-request", Kind.REFUND, "orderId")
    order_update_request: Topic = Topic("order_update_request", "order-update-request", Kind.UPDATE, "orderId")
    quantity_update: Topic = Topic("quantity_update", "quantity-update", Kind.STOCK, "productId")
    order_events: Topic = Topic("order_events", "order-events", Kind.ORDER_EVENT, "orderId")
    order_dlq: Topic = Topic("order_dlq", "order-dlq", Kind.DEAD_LETTER, "the input's key")
    # The original shop's topics, emitted for compatibility.
    compat_order_created: Topic = Topic("compat_order_created", "orderService-orderCreated", Kind.COMPAT, "orderId")
    compat_basket_clear: Topic = Topic("compat_basket_clear", "orderService-basketClear", Kind.COMPAT, "orderId")
    compat_checkout_inactive: Topic = Topic(
        "compat_checkout_inactive", "orderService-orderCreated-checkoutActive", Kind.COMPAT, "orderId"
    )
    compat_order_refunded: Topic = Topic("compat_order_refunded", "orderService-orderRefunded", Kind.COMPAT, "orderId")
    compat_products_restocked: Topic = Topic(
        "compat_products_restocked", "orderService-productsRefundedIncreaseQuantity", Kind.COMPAT, "orderId"
    )
    compat_product_refunded: Topic = Topic(
        "compat_product_refunded", "orderService-productFromOrderRefunded", Kind.COMPAT, "orderId"
    )
    compat_product_restocked: Topic = Topic(
        "compat_product_restocked", "orderService-productRefundedIncreaseQuantity", Kind.COMPAT, "orderId"
    )
    # More topics whose messages are payments (the original payment service's, say).
    extra_payments: tuple[Topic, ...] = ()
    # The topics of request kinds beyond the two above (shared.schemas.request_kinds).
    more_requests: tuple[Topic, ...] = ()
    compat: bool = True  # whether the compat topics are written

    @classmethod
    def configured(
        cls,
        setting: Callable[[str, str], str],
        extra_payments: tuple[str, ...],
        compat: bool,
        request_topics: tuple[Topic, ...] = (),
    ) -> Topics:
        """Each topic's name from ``setting(TOPIC_<ROLE>, default)``; ``request_topics``,
        every request kind's (those not named above join ``more_requests``)."""
        named = {t.role: replace(t, name=setting(t.setting, t.name)) for t in cls().registered()}
        extra = tuple(Topic("payment_accepted", name, Kind.PAYMENT, "paymentId") for name in extra_payments)
        more = tuple(replace(t, name=setting(t.setting, t.name)) for t in request_topics if t.role not in named)
        return cls(**named, extra_payments=extra, more_requests=more, compat=compat)

    def registered(self) -> Iterator[Topic]:
        """Every named topic, extra payment topics aside."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Topic):
                yield value

    @property
    def payments(self) -> tuple[Topic, ...]:
        return (self.payment_accepted, *self.extra_payments)

    @property
    def inputs(self) -> tuple[Topic, ...]:
        return (*self.payments, self.refund_request, self.order_update_request, *self.more_requests)

    @property
    def outputs(self) -> tuple[Topic, ...]:
        return tuple(
            t for t in self.registered() if t.kind not in INPUT_KINDS and (self.compat or t.kind != Kind.COMPAT)
        )

    @property
    def all(self) -> tuple[Topic, ...]:
        return self.inputs + self.outputs

    def request_topic(self, kind: str) -> Topic:
        """Where the API publishes a request of ``kind`` (its topic's kind)."""
        return self._request_topics[kind]

    @cached_property
    def _request_topics(self) -> dict[str, Topic]:
        return {t.kind: t for t in self.inputs if t.kind != Kind.PAYMENT}

    def input_kind(self, name: str) -> str:
        return self._input_kinds[name]

    @cached_property
    def _input_kinds(self) -> dict[str, str]:
        return {t.name: t.kind for t in self.inputs}


DEFAULT_TOPICS = Topics()


def names(topics: tuple[Topic, ...]) -> list[str]:
    """A list: confluent-kafka's clients take lists, not tuples (subscribe, delete_topics)."""
    return [t.name for t in topics]
