"""Traces across API -> Kafka -> dataflow -> Mongo -> Kafka -> API: a local OTLP/HTTP
receiver, decoding with opentelemetry-proto, gets the spans of one refund from the
API process and the flow process in one trace, each with the right parent; a payment
carrying an upstream ``traceparent`` continues that trace."""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from devkit.sandbox import JWT_SECRET, Stack
from devkit.servers import free_port, wait_for_port
from http_api.auth import issue_token
from shared.ids import order_id_for_payment
from tests.flowkit import payment


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str


class Receiver:
    """An OTLP/HTTP traces endpoint on loopback that keeps every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                request = ExportTraceServiceRequest.FromString(body)
                receiver.spans += list(_spans_of(request))
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def trace(self, trace_id: str) -> list[Span]:
        return [s for s in self.spans if s.trace_id == trace_id]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _spans_of(request: ExportTraceServiceRequest) -> Iterator[Span]:
    for resource_spans in request.resource_spans:
        attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
        for scope in resource_spans.scope_spans:
            for s in scope.spans:
                yield Span(
                    attributes.get("service.name", ""),
                    s.name,
                    s.trace_id.hex(),
                    s.span_id.hex(),
                    s.parent_span_id.hex(),
                )


@pytest.fixture
def traced(servers, tmp_path: Path) -> Iterator[tuple[Stack, Receiver, int]]:
    receiver = Receiver()
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    stack = Stack(servers.kafka_uri, servers.mongo_uri, tmp_path, env=env)
    try:
        stack.start_flow()
        port = free_port()
        wait_for_port(port, stack.start_api(port), 30, "the API")
        yield stack, receiver, port
    finally:
        stack.close()
        receiver.close()


def refund(port: int, order_id: str) -> int:
    token = issue_token(JWT_SECRET, "user-1", [])
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/order/{order_id}/refund?timeout=20",
        method="POST",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def wait_for_spans(receiver: Receiver, found, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while (result := found()) is None:
        if time.monotonic() > deadline:
            names = sorted({(s.service, s.name) for s in receiver.spans})
            raise AssertionError(f"spans not received in {timeout}s; got {names}")
        time.sleep(0.2)
    return result


def one(spans: list[Span], service: str, name: str) -> Span:
    matching = [s for s in spans if s.service == service and s.name == name]
    assert len(matching) == 1, (service, name, spans)
    return matching[0]


def test_one_refund_is_one_trace_across_the_api_and_the_flow(traced):
    stack, receiver, port = traced
    stack.produce(stack.topics.payment_accepted.name, [("pay-t", payment("pay-t"))])
    order_id = order_id_for_payment("pay-t")
    stack.wait_for(lambda: stack.orders.find_one({"_id": order_id}) is not None, what="the order")
    assert refund(port, order_id) == 200

    def complete() -> list[Span] | None:
        roots = [s for s in receiver.spans if s.service == "order-api" and s.name.startswith("POST ")]
        if not roots:
            return None
        spans = receiver.trace(roots[0].trace_id)
        wanted = {"decide", "store", "publish", f"receive {stack.topics.order_events.name}"}
        return spans if wanted <= {s.name for s in spans} else None

    spans = wait_for_spans(receiver, complete)
    root = one(spans, "order-api", "POST /api/order/{orderId}/refund")
    waiting = one(spans, "order-api", "publish and await outcome")
    produce = one(spans, "order-api", f"produce {stack.topics.refund_request.name}")
    decide = one(spans, "order-flow", "decide")
    store = one(spans, "order-flow", "store")
    publish = one(spans, "order-flow", "publish")
    received = one(spans, "order-api", f"receive {stack.topics.order_events.name}")
    assert root.parent_id == ""
    assert waiting.parent_id == root.span_id
    assert produce.parent_id == waiting.span_id
    assert decide.parent_id == produce.span_id, "the flow continues the request event's traceparent"
    assert store.parent_id == decide.span_id and publish.parent_id == decide.span_id
    assert received.parent_id == publish.span_id, "the API continues the order event's traceparent"


def test_a_payment_carrying_a_traceparent_continues_that_trace(traced):
    stack, receiver, _ = traced
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    body = json.dumps(payment("pay-up")).encode()
    headers = [("traceparent", f"00-{trace_id}-{parent_id}-01".encode())]
    stack.producer.produce(stack.topics.payment_accepted.name, body, b"pay-up", headers=headers)
    stack.producer.flush(30)
    spans = wait_for_spans(receiver, lambda: receiver.trace(trace_id) if len(receiver.trace(trace_id)) >= 3 else None)
    decide = one(spans, "order-flow", "decide")
    assert decide.parent_id == parent_id
    assert {s.name for s in spans if s.parent_id == decide.span_id} == {"store", "publish"}


def test_requests_refused_at_admission_make_no_span_whatever_their_traceparent_asks(traced):
    stack, receiver, port = traced
    refused: dict[str, int] = {}
    for _ in range(15):  # without a token: 401, then 429 past the anonymous rate
        trace_id = secrets.token_hex(16)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/order/{'a' * 24}/refund",
            method="POST",
            headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"},
        )
        try:
            urllib.request.urlopen(request, timeout=10)
        except urllib.error.HTTPError as exc:
            refused[trace_id] = exc.code
    stack.produce(stack.topics.payment_accepted.name, [("pay-after", payment("pay-after"))])
    order_id = order_id_for_payment("pay-after")
    stack.wait_for(lambda: stack.orders.find_one({"_id": order_id}) is not None, what="the order")
    assert refund(port, order_id) == 200
    wait_for_spans(receiver, lambda: [s for s in receiver.spans if s.name.startswith("POST ")] or None)
    assert 429 in refused.values(), refused
    assert [s for s in receiver.spans if s.trace_id in refused] == []
