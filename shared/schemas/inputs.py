"""Parse and validate input messages into commands, as docs/topics.md defines them.

Pure: bytes in, a command or a reason out. Nothing here raises on bad input.
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
from shared.money import MoneyError, to_cents
from shared.redact import masked_digits
from shared.schemas.updatable import UPDATABLE
from shared.timefmt import parse_time

MAX_MESSAGE_BYTES = 1_048_576
MAX_PRODUCTS = 500
MAX_ID = 200
MAX_ADDRESS = 2_000
MAX_REASON = 500
MAX_QUANTITY = 1_000_000


class Invalid(ValueError):
    """Why a message cannot be accepted."""


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


# --- payments ---------------------------------------------------------------


def parse_payment(body: dict[str, Any], fallback_at: datetime | None) -> AcceptPayment | PaymentReference:
    payment_id = _text(body, "paymentId", MAX_ID)
    at = _when(body, "occurredAt", fallback_at)
    if set(body) <= {"paymentId", "eventId", "occurredAt"}:
        return PaymentReference(payment_id, at)
    if at is None:
        raise Invalid("occurredAt: required when the message has no timestamp")
    return AcceptPayment(
        order_id=order_id_for_payment(payment_id),
        payment_id=payment_id,
        user_id=_text(body, "userId", MAX_ID),
        checkout_id=_text(body, "checkoutId", MAX_ID),
        basket_id=_text(body, "basketId", MAX_ID),
        lines=_lines(body.get("products")),
        address=_text(body, "address", MAX_ADDRESS),
        is_gift=_flag(body, "isGift", default=False),
        total_price=_money(body.get("totalPrice"), "totalPrice"),
        card_number=mask_card(body.get("cardNumber")),
        status=_initial_status(body.get("status")),
        at=at,
    )


def mask_card(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise Invalid("cardNumber: must be a string or number of 12 to 19 digits")
    digits = str(value).replace(" ", "").replace("-", "")
    if not digits.isascii() or not digits.isdigit() or not 12 <= len(digits) <= 19:
        raise Invalid("cardNumber: must have 12 to 19 digits")
    return masked_digits(digits)


def _lines(value: object) -> tuple[Line, ...]:
    if not isinstance(value, list) or not value:
        raise Invalid("products: must be a non-empty array")
    if len(value) > MAX_PRODUCTS:
        raise Invalid(f"products: at most {MAX_PRODUCTS} items")
    return tuple(_line(item, i) for i, item in enumerate(value))


def _line(item: object, index: int) -> Line:
    where = f"products[{index}]"
    if not isinstance(item, dict):
        raise Invalid(f"{where}: must be an object")
    seller = item.get("sellerId")
    if seller is not None and not isinstance(seller, str):
        raise Invalid(f"{where}.sellerId: must be a string")
    return Line(
        product_id=_text(item, "productId", MAX_ID, where),
        quantity=_quantity(item.get("quantity"), f"{where}.quantity"),
        price=_money(item.get("price"), f"{where}.price"),
        seller_id=seller,
    )


def _initial_status(value: object) -> Status:
    try:
        status = Status(value) if isinstance(value, str) else Status.PENDING
    except ValueError:
        return Status.PENDING
    return status if status in INITIAL else Status.PENDING


# --- requests ---------------------------------------------------------------


def parse_refund(body: dict[str, Any], fallback_at: datetime | None) -> RefundOrder | RefundProduct:
    request_id, order_id = _request_ids(body)
    at = request_time(body, fallback_at)
    actor = _actor(body.get("requestedBy"))
    reason = _optional_text(body, "reason", MAX_REASON)
    kind = body.get("kind")
    seen = _version(body, "seenVersion")
    if kind == "order":
        return RefundOrder(request_id, order_id, actor, at, reason, seen)
    if kind == "product":
        return RefundProduct(
            request_id=request_id,
            order_id=order_id,
            product_id=_text(body, "productId", MAX_ID),
            quantity=_quantity(body.get("quantity"), "quantity"),
            requested_by=actor,
            at=at,
            reason=reason,
            seen_version=seen,
        )
    raise Invalid('kind: must be "order" or "product"')


def parse_update(body: dict[str, Any], fallback_at: datetime | None) -> UpdateOrder:
    request_id, order_id = _request_ids(body)
    at = request_time(body, fallback_at)
    changes = body.get("changes")
    if not isinstance(changes, dict) or not changes:
        raise Invalid("changes: must be a non-empty object")
    unknown = sorted(set(changes) - UPDATABLE)
    if unknown:
        raise Invalid(f"changes: cannot change {', '.join(unknown)}")
    parsed: dict[str, object] = {}
    if "address" in changes:
        parsed["address"] = _text(changes, "address", MAX_ADDRESS, "changes")
    if "isGift" in changes:
        parsed["is_gift"] = _flag(changes, "isGift", default=None, where="changes")
    if "status" in changes:
        try:
            parsed["status"] = Status(changes["status"])
        except ValueError as exc:
            raise Invalid(f"changes.status: unknown status {changes['status']!r}") from exc
    return UpdateOrder(
        request_id=request_id,
        order_id=order_id,
        changes=tuple(sorted(parsed.items())),
        requested_by=_actor(body.get("requestedBy")),
        at=at,
        expected_version=_version(body, "expectedVersion"),
        seen_version=_version(body, "seenVersion"),
    )


def _version(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**63):
        raise Invalid(f"{name}: must be an integer >= 1")
    return value


def _request_ids(body: dict[str, Any]) -> tuple[str, str]:
    return _text(body, "requestId", MAX_ID), _text(body, "orderId", MAX_ID)


def request_time(body: dict[str, Any], fallback_at: datetime | None) -> datetime:
    at = _when(body, "requestedAt", fallback_at)
    if at is None:
        raise Invalid("requestedAt: required when the message has no timestamp")
    return at


def _actor(value: object) -> Actor | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Invalid("requestedBy: must be an object")
    roles = value.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Invalid("requestedBy.roles: must be an array of strings")
    return Actor(_text(value, "userId", MAX_ID, "requestedBy"), tuple(roles))


# --- fields -----------------------------------------------------------------


def is_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and len(value.strip()) > 0 and len(value) <= MAX_ID


def _text(body: dict[str, Any], name: str, limit: int, where: str = "") -> str:
    label = f"{where}.{name}" if where else name
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{label}: required, a non-empty string")
    if len(value) > limit:
        raise Invalid(f"{label}: at most {limit} characters")
    return value


def _optional_text(body: dict[str, Any], name: str, limit: int) -> str | None:
    return None if body.get(name) is None else _text(body, name, limit)


def _flag(body: dict[str, Any], name: str, default: bool | None, where: str = "") -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise Invalid(f"{where + '.' if where else ''}{name}: must be true or false")
    return value


def _quantity(value: object, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_QUANTITY:
        raise Invalid(f"{label}: must be an integer from 1 to {MAX_QUANTITY}")
    return value


def _money(value: object, label: str) -> int:
    try:
        cents = to_cents(value)
    except MoneyError as exc:
        raise Invalid(f"{label}: {exc}") from exc
    if cents < 0:
        raise Invalid(f"{label}: must be >= 0")
    return cents


def _when(body: dict[str, Any], name: str, fallback: datetime | None) -> datetime | None:
    value = body.get(name)
    if value is None:
        return fallback
    if not isinstance(value, str):
        raise Invalid(f"{name}: must be an ISO-8601 string")
    try:
        return parse_time(value)
    except ValueError as exc:
        raise Invalid(f"{name}: not an ISO-8601 time") from exc
