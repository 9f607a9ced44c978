"""Validation of input messages against docs/topics.md."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.domain import AcceptPayment, RefundProduct, RejectInvalid, UpdateOrder
from shared.domain.model import Status
from shared.ids import order_id_for_payment
from shared.schemas.inputs import MAX_MESSAGE_BYTES, PaymentReference, mask_card
from shared.schemas.messages import parse_message
from tests.flowkit import payment, refund, update

TS = 1_760_000_000_000


def parse(kind: str, body) -> object:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_message(kind, raw, TS)


def test_a_valid_payment_becomes_an_accept_command_with_exact_cents_and_a_masked_card():
    parsed = parse("payment", payment(products=[{"productId": "a", "quantity": 2, "price": 0.1}], totalPrice=0.2))
    assert parsed.error is None
    cmd = parsed.command
    assert isinstance(cmd, AcceptPayment)
    assert cmd.lines[0].price == 10
    assert cmd.total_price == 20
    assert cmd.card_number == "************4242"
    assert cmd.order_id == order_id_for_payment("pay-1")
    assert len(cmd.order_id) == 24
    assert cmd.at == datetime(2025, 10, 9, 8, 53, 20, tzinfo=UTC)


def test_the_order_id_is_24_lowercase_hex_and_stable():
    assert order_id_for_payment("p") == order_id_for_payment("p")
    assert all(c in "0123456789abcdef" for c in order_id_for_payment("p"))


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"paymentId": ""}, "paymentId"),
        ({"userId": None}, "userId"),
        ({"products": []}, "products"),
        ({"products": [{"productId": "a", "quantity": 0, "price": 1}]}, "quantity"),
        ({"products": [{"productId": "a", "quantity": 1.5, "price": 1}]}, "quantity"),
        ({"products": [{"productId": "a", "quantity": True, "price": 1}]}, "quantity"),
        ({"products": [{"productId": "a", "quantity": 1, "price": -1}]}, "price"),
        ({"products": [{"productId": "a", "quantity": 1, "price": 1.001}]}, "2 decimals"),
        ({"products": [{"productId": "a", "quantity": 1, "price": "1"}]}, "price"),
        ({"products": [{"productId": "a", "quantity": 1, "price": 1}] * 501}, "500"),
        ({"totalPrice": -0.01}, "totalPrice"),
        ({"cardNumber": "4242"}, "cardNumber"),
        ({"cardNumber": "42424242424242424242"}, "cardNumber"),
        ({"address": ""}, "address"),
        ({"isGift": "yes"}, "isGift"),
        ({"occurredAt": "yesterday"}, "occurredAt"),
    ],
)
def test_an_invalid_payment_is_a_dead_letter_with_its_reason(change, error):
    parsed = parse("payment", payment(**change))
    assert parsed.command is None
    assert error in parsed.error


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"\xff\xfe", "UTF-8"),
        (b"{not json", "JSON"),
        (b"[1, 2]", "object"),
        (b'{"paymentId": NaN}', "JSON"),
        (b" " * (MAX_MESSAGE_BYTES + 1), "larger"),
    ],
)
def test_undecodable_messages_are_dead_letters(raw, error):
    parsed = parse("payment", raw)
    assert parsed.command is None
    assert error in parsed.error


def test_a_message_with_only_a_payment_id_is_a_reference_to_complete():
    parsed = parse("payment", {"paymentId": "p-9"})
    assert parsed.error is None
    assert parsed.command == PaymentReference("p-9", datetime(2025, 10, 9, 8, 53, 20, tzinfo=UTC))


def test_an_unknown_status_on_a_payment_is_ignored():
    assert parse("payment", payment(status="Bogus")).command.status is Status.PENDING
    assert parse("payment", payment(status="Processing")).command.status is Status.PROCESSING
    assert parse("payment", payment(status="Refunded")).command.status is Status.PENDING


def test_card_numbers_keep_only_the_last_four_digits():
    assert mask_card(4111111111111111) == "************1111"
    assert mask_card("4111 1111 1111 1111") == "************1111"


def test_a_valid_product_refund_request_parses():
    cmd = parse("refund", refund("r1", "o1", "apple", 2, requestedBy={"userId": "u", "roles": ["admin"]})).command
    assert isinstance(cmd, RefundProduct)
    assert cmd.quantity == 2
    assert cmd.requested_by.is_admin


@pytest.mark.parametrize(
    "body",
    [
        refund("r1", "o1", "apple", 0),
        refund("r1", "o1", "apple", -1),
        {"requestId": "r1", "orderId": "o1", "kind": "everything"},
        refund("r1", "o1", reason="x" * 501),
        update("r1", "o1", {"price": 1}),
        update("r1", "o1", {"status": "Teleported"}),
        update("r1", "o1", {}),
        update("r1", "o1", {"address": "a"}, expectedVersion="1"),
    ],
)
def test_an_invalid_request_with_readable_ids_gets_an_invalid_request_outcome_and_a_dead_letter(body):
    kind = "update" if "changes" in body else "refund"
    parsed = parse(kind, body)
    assert isinstance(parsed.command, RejectInvalid)
    assert parsed.command.request_id == "r1"
    assert parsed.error


def test_a_request_without_ids_is_only_a_dead_letter():
    parsed = parse("refund", {"kind": "order"})
    assert parsed.command is None
    assert "requestId" in parsed.error


def test_an_update_takes_only_address_gift_and_status():
    cmd = parse("update", update("r1", "o1", {"address": "x", "isGift": True, "status": "Shipped"})).command
    assert isinstance(cmd, UpdateOrder)
    assert dict(cmd.changes) == {"address": "x", "is_gift": True, "status": Status.SHIPPED}
    assert "cannot change cardNumber" in parse("update", update("r1", "o1", {"cardNumber": "1"})).error
