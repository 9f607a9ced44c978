"""Parse and validate input messages into commands, as docs/topics.md defines them.

Pure: bytes in, a command or a reason out. Nothing here raises on bad input. Every
field is read through its declaration in a contract below (``shared.schemas.contract``),
the same declarations the topics' JSON Schemas are made from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeGuard

from shared.domain.commands import (
    AcceptPayment,
    RefundOrder,
    RefundProduct,
    UpdateOrder,
)
from shared.domain.model import INITIAL, Actor, Line, Status
from shared.ids import order_id_for_payment
from shared.redact import masked_digits
from shared.schemas.contract import (
    AnyString,
    Card,
    Choice,
    Count,
    Flag,
    Invalid,
    Items,
    Lenient,
    Money,
    Nested,
    Shape,
    Strings,
    Text,
    Time,
)
from shared.schemas.updatable import UPDATABLE

MAX_MESSAGE_BYTES = 1_048_576
MAX_PRODUCTS = 500
MAX_ID = 200
MAX_ADDRESS = 2_000
MAX_REASON = 500
MAX_QUANTITY = 1_000_000


@dataclass(frozen=True, slots=True)
class PaymentReference:
    """A payment message carrying only its paymentId (the original service's shape)."""

    payment_id: str
    at: datetime | None


def decode_json(value: bytes | None) -> dict[str, Any]:
    if value is None:
        raise Invalid("message has no value")
    if len(value) > MAX_MESSAGE_BYTES:
        raise Invalid(f"message is larger than {MAX_MESSAGE_BYTES} bytes")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid(f"value is not UTF-8: {exc.reason} at byte {exc.start}") from exc
    try:
        body = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise Invalid(f"value is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise Invalid("value must be a JSON object")
    if _ESCAPED_SURROGATE.search(value) and not encodable(body):
        raise Invalid("value holds a lone surrogate (\\ud800-\\udfff escape), which is not text")
    return body


# JSON may escape half of a UTF-16 pair alone ("\ud800"): Python reads it into a str
# that cannot be encoded again, so such messages are refused before anything encodes them.
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def encodable(node: object) -> bool:
    """Whether every string in a parsed JSON value can be encoded again (no lone surrogate)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed")


# --- the contracts ------------------------------------------------------------

ID = Text(MAX_ID)
VERSION = Count(2**63 - 1, nullable=True, refusal="{label}: must be an integer >= 1")


def _initial_status(value: object) -> Status:
    try:
        status = Status(value) if isinstance(value, str) else Status.PENDING
    except ValueError:
        return Status.PENDING
    return status if status in INITIAL else Status.PENDING


def _lines(value: object, label: str) -> tuple[Line, ...]:
    if not isinstance(value, list) or not value:
        raise Invalid(f"{label}: must be a non-empty array")
    if len(value) > MAX_PRODUCTS:
        raise Invalid(f"{label}: at most {MAX_PRODUCTS} items")
    return tuple(_line(item, f"{label}[{i}]") for i, item in enumerate(value))


def _line(item: object, where: str) -> Line:
    if not isinstance(item, dict):
        raise Invalid(f"{where}: must be an object")
    return Line(
        product_id=LINE.read(item, "productId", where),
        quantity=LINE.read(item, "quantity", where),
        price=LINE.read(item, "price", where),
        seller_id=LINE.read(item, "sellerId", where),
    )


def _actor(value: object, label: str) -> Actor:
    if not isinstance(value, dict):
        raise Invalid(f"{label}: must be an object")
    return Actor(ACTOR.read(value, "userId", label), ACTOR.read(value, "roles", label))


LINE = Shape(
    {
        "productId": ID,
        "quantity": Count(MAX_QUANTITY),
        "price": Money("The unit price."),
        "sellerId": AnyString("The seller, when the shop has several."),
    },
    optional=frozenset({"sellerId"}),
)
ACTOR = Shape({"userId": ID, "roles": Strings("Its roles; admin may change any order.")}, optional=frozenset({"roles"}))
REQUESTED_BY = Nested(ACTOR, _actor, "Who asked; absent or null means a trusted service.", nullable=True)
SEEN = "The order's version its requester read (the API sends it)."

PAYMENT = Shape(
    {
        "eventId": Lenient(lambda value: value, "The producer's id of the message; not read."),
        "paymentId": Text(MAX_ID, "The payment: one payment makes one order, its id derived from this."),
        "userId": ID,
        "checkoutId": ID,
        "basketId": ID,
        "products": Items(LINE, _lines, MAX_PRODUCTS),
        "address": Text(MAX_ADDRESS),
        "isGift": Flag(default=False),
        "totalPrice": Money(),
        "cardNumber": Card("Only a mask (its last 4 digits) is kept or sent on."),
        "status": Lenient(
            _initial_status,
            "The status the order starts in: Pending, Processing, Shipped or Delivered; any other value, "
            "or none, is Pending.",
        ),
        "occurredAt": Time("When the payment was accepted. Required unless the message has a Kafka timestamp."),
    },
    optional=frozenset({"eventId", "isGift", "status", "occurredAt"}),
)
# The original payment service's form: the id alone, completed from PAYMENT_SERVICE_URL.
PAYMENT_REFERENCE = Shape(
    {name: PAYMENT.fields[name] for name in ("paymentId", "eventId", "occurredAt")},
    "A payment by its id alone, completed from the payment service (PAYMENT_SERVICE_URL).",
    optional=frozenset({"eventId", "occurredAt"}),
    closed=True,
)
REQUEST_TIME = Time("When it was asked. Required unless the message has a Kafka timestamp.")
REFUND = Shape(
    {
        "requestId": Text(MAX_ID, "Unique per request of an order: the idempotency key."),
        "orderId": ID,
        "kind": Choice(("order", "product"), 'kind: must be "order" or "product"', "The whole order, or one product."),
        "productId": ID,
        "quantity": Count(MAX_QUANTITY),
        "requestedBy": REQUESTED_BY,
        "reason": Text(MAX_REASON, nullable=True),
        "requestedAt": REQUEST_TIME,
        "seenVersion": Count(VERSION.maximum, SEEN, nullable=True, refusal=VERSION.refusal),
    },
    optional=frozenset({"requestedBy", "reason", "requestedAt", "seenVersion"}),
    required_when={("kind", "product"): ("productId", "quantity")},
)
CHANGES = Shape(
    {
        "address": Text(MAX_ADDRESS),
        "isGift": Flag(),
        "status": Choice(tuple(Status), "{label}: unknown status {value!r}", "Only an admin (or a trusted service)."),
    },
    "What to change: at least one of these, nothing else.",
    optional=UPDATABLE,
    closed=True,
    min_fields=1,
)
UPDATE = Shape(
    {
        "requestId": Text(MAX_ID, "Unique per request of an order: the idempotency key."),
        "orderId": ID,
        "changes": Nested(CHANGES, lambda value, label: _changes(value)),
        "expectedVersion": Count(
            VERSION.maximum, "A different version is rejected as version-conflict.", True, VERSION.refusal
        ),
        "requestedBy": REQUESTED_BY,
        "requestedAt": REQUEST_TIME,
        "seenVersion": Count(VERSION.maximum, SEEN, nullable=True, refusal=VERSION.refusal),
    },
    optional=frozenset({"expectedVersion", "requestedBy", "requestedAt", "seenVersion"}),
)


# --- payments ---------------------------------------------------------------


def parse_payment(body: dict[str, Any], fallback_at: datetime | None) -> AcceptPayment | PaymentReference:
    payment_id = PAYMENT.read(body, "paymentId")
    at = PAYMENT.read(body, "occurredAt") or fallback_at
    if set(body) <= set(PAYMENT_REFERENCE.fields):
        return PaymentReference(payment_id, at)
    if at is None:
        raise Invalid("occurredAt: required when the message has no timestamp")
    return AcceptPayment(
        order_id=order_id_for_payment(payment_id),
        payment_id=payment_id,
        user_id=PAYMENT.read(body, "userId"),
        checkout_id=PAYMENT.read(body, "checkoutId"),
        basket_id=PAYMENT.read(body, "basketId"),
        lines=PAYMENT.read(body, "products"),
        address=PAYMENT.read(body, "address"),
        is_gift=PAYMENT.read(body, "isGift"),
        total_price=PAYMENT.read(body, "totalPrice"),
        card_number=masked_digits(PAYMENT.read(body, "cardNumber")),
        status=PAYMENT.read(body, "status"),
        at=at,
    )


def mask_card(value: object) -> str:
    return masked_digits(PAYMENT.fields["cardNumber"].read({"cardNumber": value}, "cardNumber"))


# --- requests ---------------------------------------------------------------


def parse_refund(body: dict[str, Any], fallback_at: datetime | None) -> RefundOrder | RefundProduct:
    request_id, order_id = REFUND.read(body, "requestId"), REFUND.read(body, "orderId")
    at = request_time(body, fallback_at)
    actor = REFUND.read(body, "requestedBy")
    reason = REFUND.read(body, "reason")
    scope = REFUND.read(body, "kind")  # the whole order, or one product
    seen = REFUND.read(body, "seenVersion")
    if scope == "order":
        return RefundOrder(request_id, order_id, actor, at, reason, seen)
    return RefundProduct(
        request_id=request_id,
        order_id=order_id,
        product_id=REFUND.read(body, "productId"),
        quantity=REFUND.read(body, "quantity"),
        requested_by=actor,
        at=at,
        reason=reason,
        seen_version=seen,
    )


def parse_update(body: dict[str, Any], fallback_at: datetime | None) -> UpdateOrder:
    request_id, order_id = UPDATE.read(body, "requestId"), UPDATE.read(body, "orderId")
    at = request_time(body, fallback_at)
    return UpdateOrder(
        request_id=request_id,
        order_id=order_id,
        changes=UPDATE.read(body, "changes"),
        requested_by=UPDATE.read(body, "requestedBy"),
        at=at,
        expected_version=UPDATE.read(body, "expectedVersion"),
        seen_version=UPDATE.read(body, "seenVersion"),
    )


def _changes(changes: object) -> tuple[tuple[str, object], ...]:
    if not isinstance(changes, dict) or not changes:
        raise Invalid("changes: must be a non-empty object")
    unknown = sorted(set(changes) - UPDATABLE)
    if unknown:
        raise Invalid(f"changes: cannot change {', '.join(unknown)}")
    parsed: dict[str, object] = {}
    if "address" in changes:
        parsed["address"] = CHANGES.read(changes, "address", "changes")
    if "isGift" in changes:
        parsed["is_gift"] = CHANGES.read(changes, "isGift", "changes")
    if "status" in changes:
        parsed["status"] = Status(CHANGES.read(changes, "status", "changes"))
    return tuple(sorted(parsed.items()))


def request_time(body: dict[str, Any], fallback_at: datetime | None) -> datetime:
    at = REQUEST_TIME.read(body, "requestedAt") or fallback_at
    if at is None:
        raise Invalid("requestedAt: required when the message has no timestamp")
    return at


def is_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and len(value.strip()) > 0 and len(value) <= MAX_ID
