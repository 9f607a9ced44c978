"""F5: generated garbage into every input topic and every route: no crash, every
bad message in the dead-letter topic, 400s, and the good input around it processed."""

from __future__ import annotations

import base64
import http.client
import itertools
import json
import urllib.parse

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from devkit.sandbox import JWT_SECRET, Stack
from devkit.servers import free_port, wait_for_port
from http_api.auth import issue_token
from shared.ids import order_id_for_payment
from shared.schemas.messages import parse_message
from tests.flowkit import payment, refund, update

SETTINGS = settings(
    max_examples=4,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=8,
)
TEMPLATES = {
    "payment": payment("template"),
    "refund": refund("r", "0" * 24, "apple", 1),
    "update": update("u", "0" * 24, {"address": "x"}),
}


@st.composite
def garbage(draw) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(sorted(TEMPLATES)))
    style = draw(st.sampled_from(["bytes", "json", "field"]))
    if style == "bytes":
        return kind, draw(st.binary(max_size=120))
    if style == "json":
        return kind, json.dumps(draw(json_values)).encode()
    body = dict(TEMPLATES[kind])
    body[draw(st.sampled_from(sorted(body)))] = draw(json_values)
    return kind, json.dumps(body).encode()


@pytest.fixture
def running(stack: Stack) -> Stack:
    stack.start_flow()
    return stack


counter = itertools.count()


@SETTINGS
@given(st.lists(garbage(), min_size=25, max_size=25))
def test_generated_garbage_in_every_topic_goes_to_the_dead_letter_topic(running: Stack, batch):
    stack, n = running, next(counter)
    topic_of = {
        "payment": stack.topics.payment_accepted.name,
        "refund": stack.topics.refund_request.name,
        "update": stack.topics.order_update_request.name,
    }
    expected_dead = set()
    for i, (kind, value) in enumerate(batch):
        key = f"bad-{n}-{i}"
        if parse_message(kind, value, 1).error is not None:
            expected_dead.add(key)
        stack.produce(topic_of[kind], [(key, value)])
    good = [payment(f"good-{n}-{i}") for i in range(3)]
    stack.produce(topic_of["payment"], [(p["paymentId"], p) for p in good])
    ids = [order_id_for_payment(p["paymentId"]) for p in good]
    stack.wait_for(lambda: stack.orders.count_documents({"_id": {"$in": ids}}) == 3, 60, "the good orders")
    dead = stack.consume(stack.topics.order_dlq.name, lambda ms: {m["key"] for m in ms} >= expected_dead)
    assert all(m["error"] for m in dead)


@pytest.fixture
def api_port(stack: Stack) -> int:
    stack.start_flow()
    stack.produce(stack.topics.payment_accepted.name, [("pay-0", payment("pay-0"))])
    port = free_port()
    wait_for_port(port, stack.start_api(port), 30, "the API")
    return port


ORDER = order_id_for_payment("pay-0")
PATHS = [
    "/api/order/find/{x}",
    "/api/order/findOrder/{x}",
    "/api/order/{x}",
    "/api/order/refundOrder/{x}",
    "/api/order/refundProductFromOrder/{x}",
    "/api/order/{x}/refund",
    "/api/order/{x}/refund-product",
    "/api/order/requests/{x}",
]


@SETTINGS
@given(
    method=st.sampled_from(["GET", "POST", "PATCH", "PUT", "DELETE"]),
    path=st.sampled_from(PATHS),
    segment=st.one_of(st.just(ORDER), st.text(min_size=1, max_size=30)),
    query=st.dictionaries(
        st.sampled_from(["productId", "quantity", "limit", "cursor", "status", "timeout"]), st.text(max_size=12)
    ),
    body=st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode())),
    headers=st.dictionaries(
        st.sampled_from(["If-Match", "Idempotency-Key", "Content-Type"]), st.text('abc"1 /', max_size=10)
    ),
)
def test_generated_requests_to_every_route_never_get_a_5xx(api_port, method, path, segment, query, body, headers):
    url = (
        path.format(x=urllib.parse.quote(segment, safe="")) + "?" + urllib.parse.urlencode({**query, "timeout": "0.5"})
    )
    token = issue_token(JWT_SECRET, "user-1", [])
    conn = http.client.HTTPConnection("127.0.0.1", api_port, timeout=30)
    conn.request(method, url, body=body, headers={**headers, "Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    content_type = response.getheader("Content-Type", "")
    response.read()
    conn.close()
    assert response.status < 500
    if response.status >= 400:
        assert content_type.startswith("application/problem+json")


# --- inputs at the edges: beyond what the schema generates --------------------

ARABIC_ONE_TWO, ARABIC_ONE_POINT_FIVE = "\u0661\u0662", "\u0661.\u0665"  # digits, but not ASCII ones
EDGE_NUMBERS = [
    ARABIC_ONE_TWO,
    "\u00b2",
    "1e400",
    "9" * 30,
    str(2**64),
    "-0",
    "NaN",
    "inf",
    " 1",
    "0x10",
    ARABIC_ONE_POINT_FIVE,
    "1_000",
]


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def cursor_of(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


FORGED_CURSORS = [
    cursor_of(b'["2026-01-01T00:00:00Z", "\\ud800"]'),
    cursor_of(json.dumps({"seq": 2**70}).encode()),
    cursor_of(json.dumps({"seq": -1}).encode()),
    cursor_of(json.dumps(["x" * 5000, "y"]).encode()),
    cursor_of(json.dumps([2**80, "y"]).encode()),
    cursor_of(nested(100_000)),
    cursor_of(b"\xff\xfe"),
    "not base64 at all ✓",
    "%ED%A0%80",
]
EDGE_BODIES = [
    nested(100_000),
    b'{"productId": "apple", "quantity": ' + b"9" * 5000 + b"}",
    json.dumps({"productId": "apple", "quantity": 2**64}).encode(),
    json.dumps({"productId": "apple", "quantity": 1.0}).encode(),
    b'{"productId": "\\ud800", "quantity": 1}',
    b'{"address": "\\udfff"}',
    json.dumps({"isGift": True, "address": "x" * 60_000}).encode(),
    b'{"quantity": 1e999999}',
]


@st.composite
def edge_request(draw) -> tuple[str, str, bytes | None]:
    order = ORDER
    number = draw(st.sampled_from(EDGE_NUMBERS))
    cursor = urllib.parse.quote(draw(st.sampled_from(FORGED_CURSORS)), safe="%")
    body = draw(st.sampled_from(EDGE_BODIES))
    return draw(
        st.sampled_from(
            [
                ("GET", f"/api/order/find/user-1?limit={urllib.parse.quote(number)}", None),
                ("GET", f"/api/order/find/user-1?cursor={cursor}", None),
                ("GET", f"/api/order/{order}/history?cursor={cursor}", None),
                ("GET", f"/api/order/{order}/history?limit={urllib.parse.quote(number)}", None),
                ("GET", "/api/order/find/%ED%A0%80", None),
                (
                    "GET",
                    f"/api/order/refundProductFromOrder/{order}?productId=apple&quantity={urllib.parse.quote(number)}",
                    None,
                ),
                ("POST", f"/api/order/{order}/refund?timeout={urllib.parse.quote(number)}", None),
                ("POST", f"/api/order/{order}/refund-product?timeout=0.5", body),
                ("PATCH", f"/api/order/{order}?timeout=0.5", body),
            ]
        )
    )


@settings(SETTINGS, max_examples=40, derandomize=True)
@given(edge_request())
def test_inputs_at_the_edges_get_a_4xx_problem_never_a_5xx(api_port, request_parts):
    method, url, body = request_parts
    conn = http.client.HTTPConnection("127.0.0.1", api_port, timeout=30)
    headers = {"Authorization": f"Bearer {issue_token(JWT_SECRET, 'user-1', ['admin'])}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn.request(method, url, body=body, headers=headers)
    response = conn.getresponse()
    content_type = response.getheader("Content-Type", "")
    response.read()
    conn.close()
    assert response.status < 500, (method, url, body and body[:80])
    if response.status >= 400:
        assert content_type.startswith("application/problem+json")
