"""Property-based fuzzing through the real flow, on the broker of the run: messages
at the edges of what each input topic may carry, and payment-service answers at
the edges of HTTP. Each message the broker took ends as an order change (an order,
or a request's outcome event) or a dead letter naming its topic, partition and
offset; a valid payment after the batch is stored; no dead letter holds a card
number.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from confluent_kafka import KafkaException, TopicPartition
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from devkit.samples import payment, refund, update
from devkit.sandbox import Stack
from shared.domain.commands import AcceptPayment
from shared.ids import order_id_for_payment
from shared.schemas.inputs import PaymentReference
from shared.schemas.messages import parse_message
from shared.topics import Kind
from tests.card_scan import cards_in
from tests.integration.http_stub import QuietHandler, serving

FUZZ = settings(
    max_examples=3,
    deadline=None,
    derandomize=True,  # a fixed seed: the same messages in every CI run
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
BATCH = 30
CALENDAR_EDGES = [
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:30:00+01:00",
    "0001-01-01T00:00:00-14:00",
    "9999-12-31T23:59:59.999Z",
    "9999-12-31T23:00:00-05:00",
    "9999-12-31T23:59:59+00:01",
    "1970-01-01T00:00:00Z",
    "2026-02-29T00:00:00Z",
    "2026-13-01T00:00:00Z",
]
KAFKA_TIMESTAMPS = [None, 1, -1, 2**31, 253_402_300_799_999, 253_402_300_800_000, 2**62, 2**63 - 1]
BIG_INTS = st.one_of(
    st.integers(min_value=2**63 - 2, max_value=2**80), st.integers(max_value=-(2**63), min_value=-(2**80))
)
SIZES = [64 * 1024, 520 * 1024, 999_000, 1_000_100, 1_048_600]  # around our cut and the broker's limit
CARD = "4242 4242 4242 4242"


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@st.composite
def times(draw) -> str:
    if draw(st.booleans()):
        return draw(st.sampled_from(CALENDAR_EDGES))
    moment = draw(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
    offset = timedelta(minutes=draw(st.integers(-14 * 60, 14 * 60)))
    return moment.replace(tzinfo=timezone(offset)).isoformat()


def template(kind: Kind, n: int) -> dict:
    order = order_id_for_payment(f"fuzz-base-{n % 3}")
    if kind == Kind.PAYMENT:
        return payment(f"fuzz-{n}", occurredAt="2026-01-01T00:00:00Z")
    if kind == Kind.REFUND:
        return refund(f"fuzz-r-{n}", order, "apple", 1, requestedBy={"userId": "user-1"})
    return update(f"fuzz-u-{n}", order, {"address": "2 High St"}, requestedBy={"userId": "user-1"})


@st.composite
def value_of(draw, kind: Kind, n: int) -> bytes:
    body = template(kind, n)
    style = draw(st.sampled_from(["time", "big-int", "field", "size", "utf8", "json", "deep", "card", "valid"]))
    if style == "time":
        body["occurredAt" if kind == Kind.PAYMENT else "requestedAt"] = draw(times())
    elif style == "big-int":
        body[draw(st.sampled_from(["totalPrice", "quantity", "expectedVersion", "isGift"]))] = draw(BIG_INTS)
        if kind == Kind.PAYMENT:
            body["products"][0]["quantity"] = draw(BIG_INTS)
    elif style == "field":
        body[draw(st.sampled_from(sorted(body)))] = draw(
            st.none() | st.booleans() | st.text(max_size=8) | st.lists(st.integers(), max_size=2)
        )
    elif style == "size":
        body["pad"] = "x" * max(0, draw(st.sampled_from(SIZES)) - len(json.dumps(body)) - 10)
    elif style == "utf8":
        return json.dumps(body).encode()[:40] + draw(
            st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"])
        )
    elif style == "json":
        return json.dumps(draw(st.sampled_from([[body], "text", 7, None, True, [CARD]]))).encode()
    elif style == "deep":
        return nested(draw(st.sampled_from([100, 1_000, 100_000])))
    elif style == "card":
        body["totalPrice"] = "abc"  # fails validation: its dead letter must not show the card
        body["cardNumber"] = CARD
        body["note"] = f"card {CARD.replace(' ', '')}"
    return json.dumps(body).encode()


@dataclass
class Sent:
    kind: Kind
    key: bytes | None
    value: bytes
    timestamp: int | None
    where: tuple[str, int, int] | None = None  # topic, partition, offset: set when the broker took it
    refused: str | None = None


@st.composite
def message(draw, n: int) -> Sent:
    kind = draw(st.sampled_from([Kind.PAYMENT, Kind.REFUND, Kind.UPDATE]))
    key = draw(st.sampled_from([None, b"", b"\xff\xfe", b"k" * 10_000, CARD.encode(), f"fuzz-{n}".encode()]))
    return Sent(kind, key, draw(value_of(kind, n)), draw(st.sampled_from(KAFKA_TIMESTAMPS)))


@st.composite
def references(draw, n: int) -> Sent:
    """A payment holding only its paymentId, which the payment service answers oddly."""
    answer = draw(st.sampled_from(sorted(ANSWERS)))
    return Sent(Kind.PAYMENT, None, json.dumps({"paymentId": f"{answer}-{n}"}).encode(), None)


# --- the payment service's answers ----------------------------------------------


def _payment_json(payment_id: str) -> bytes:
    body = {k: v for k, v in payment(payment_id).items() if k != "paymentId"}
    return json.dumps({**body, "occurredAt": "2026-01-01T00:00:00Z"}).encode()


ANSWERS = {
    "ok": (200, "application/json", _payment_json),
    "html": (200, "text/html", lambda _: b"<html><body>Payment</body></html>"),
    "badjson": (200, "application/json", lambda _: b'{"payment": '),
    "huge": (200, "application/json", lambda _: b'{"x": "' + b"y" * 3_000_000 + b'"}'),
    "deep": (200, "application/json", lambda _: nested(100_000)),
    "nonobject": (200, "application/json", lambda _: b"[1, 2]"),
    "error": (503, "application/json", lambda _: b'{"message": "down"}'),
    "missing": (404, "application/json", lambda _: b'{"message": "not found"}'),
    "slow": (200, "application/json", None),
}


@contextmanager
def payment_service() -> Iterator[str]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            payment_id = self.path.rsplit("/", 1)[-1]
            status, content_type, body = ANSWERS[payment_id.split("-", 1)[0]]
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.end_headers()
            if body is None:  # a byte a quarter second, for ever (the lookup's deadline ends it)
                for _ in range(40):
                    try:
                        self.wfile.write(b" ")
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(0.25)
                return
            with suppress(OSError):
                self.wfile.write(body(payment_id))

    with serving(Handler) as url:
        yield url


# --- the run ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzzed(servers, tmp_path_factory) -> Iterator[Stack]:
    with payment_service() as url:
        env = {
            "PAYMENT_SERVICE_URL": url,
            "PAYMENT_FETCH_TIMEOUT": "1.0",
            "TOPIC_PARTITIONS": "2",
            "LOG_FORMAT": "json",
        }
        stack = Stack(servers.kafka_uri, servers.mongo_uri, Path(tmp_path_factory.mktemp("fuzz")), env=env)
        try:
            bases = [payment(f"fuzz-base-{i}", occurredAt="2026-01-01T00:00:00Z") for i in range(3)]
            stack.produce(stack.topics.payment_accepted.name, [(b["paymentId"], b) for b in bases])
            stack.start_flow()
            yield stack
        finally:
            stack.close()


def send(stack: Stack, batch: list[Sent]) -> None:
    topic_of = {
        k: t.name
        for k, t in (
            (Kind.PAYMENT, stack.topics.payment_accepted),
            (Kind.REFUND, stack.topics.refund_request),
            (Kind.UPDATE, stack.topics.order_update_request),
        )
    }
    for sent in batch:

        def delivered(err, msg, sent=sent) -> None:
            if err is None:
                sent.where = (msg.topic(), msg.partition(), msg.offset())
            else:
                sent.refused = str(err)

        extra = {} if sent.timestamp is None else {"timestamp": sent.timestamp}
        headers = [("h", b"\xff\x00"), ("card", CARD.encode()), ("", b"")]
        try:
            stack.producer.produce(
                topic_of[sent.kind], sent.value, sent.key, headers=headers, on_delivery=delivered, **extra
            )
        except (KafkaException, BufferError, ValueError, OverflowError) as exc:
            sent.refused = f"the producer refused it: {exc}"
        # One message a batch: a broker refuses a whole batch for one record it refuses
        # (Apache Kafka, a timestamp out of its range), and the others would be lost with it.
        assert stack.producer.flush(60) == 0, "a message neither delivered nor refused in 60 s"


def expected_effect(stack: Stack, sent: Sent) -> tuple[str, str] | None:
    """What a message the flow applied leaves: ("order", paymentId) or ("outcome", requestId);
    None when the test's own reading says it must be a dead letter."""
    stamp = sent.timestamp if sent.timestamp is not None else int(time.time() * 1000)
    try:
        parsed = parse_message(sent.kind, sent.value, stamp)
    except Exception:
        return None
    command = parsed.command
    if isinstance(command, PaymentReference):
        return ("order", command.payment_id) if command.payment_id.startswith("ok-") else None
    if isinstance(command, AcceptPayment):
        return "order", command.payment_id
    if command is not None and hasattr(command, "request_id"):
        return "outcome", command.request_id
    return None


def settled(stack: Stack, batch: list[Sent]) -> list[str]:
    """What is still missing: messages with neither their effect nor a dead letter."""
    dead = {(d["topic"], d["partition"], d["offset"]) for d in _all(stack, stack.topics.order_dlq.name)}
    outcomes = {e.get("requestId") for e in _all(stack, stack.topics.order_events.name)}
    missing = []
    for sent in batch:
        if sent.where is None or sent.where in dead:
            continue
        effect = expected_effect(stack, sent)
        if effect is None:
            missing.append(f"{sent.where}: no dead letter")
        elif effect[0] == "order" and stack.orders.find_one({"paymentId": effect[1]}, {"_id": 1}) is None:
            missing.append(f"{sent.where}: no order for {effect[1]}")
        elif effect[0] == "outcome" and effect[1] not in outcomes:
            missing.append(f"{sent.where}: no outcome for {effect[1]}")
    return missing


def _all(stack: Stack, topic: str) -> list[dict]:
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": stack.settings.kafka_uri,
            "group.id": f"fuzz-{time.monotonic_ns()}",
            "enable.auto.commit": False,
        }
    )
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
        consumer.assign([TopicPartition(topic, p, 0) for p in parts])
        out, seen = [], dict.fromkeys(parts, 0)
        deadline = time.monotonic() + 30
        while any(seen[p] < ends[p] for p in parts) and time.monotonic() < deadline:
            for msg in consumer.consume(500, 0.2):
                if msg.error() is None:
                    seen[msg.partition()] = (msg.offset() or 0) + 1
                    out.append(json.loads(msg.value()))
        return out
    finally:
        consumer.close()


counter = itertools.count()


@FUZZ
@given(st.data())
def test_every_message_at_the_edges_ends_as_a_change_or_a_dead_letter(fuzzed: Stack, data):
    stack, round_ = fuzzed, next(counter)
    base = round_ * 1000
    batch = [data.draw(message(base + i)) for i in range(BATCH)]
    batch += [data.draw(references(base + BATCH + i)) for i in range(4)]
    send(stack, batch)
    assert any(s.where for s in batch)
    after = payment(f"fuzz-after-{round_}", occurredAt="2026-01-01T00:00:00Z")
    stack.produce(stack.topics.payment_accepted.name, [(after["paymentId"], after)])
    stack.wait_for(
        lambda: stack.orders.find_one({"paymentId": after["paymentId"]}) is not None,
        120,
        "the valid payment after the batch",
    )
    deadline = time.monotonic() + 60
    while (missing := settled(stack, batch)) and time.monotonic() < deadline:
        time.sleep(1)
    assert missing == []
    refused = [s.refused[:40] for s in batch if s.refused]
    print(f"round {round_}: {sum(1 for s in batch if s.where)} taken, refused: {refused}")


def test_no_dead_letter_the_fuzzing_made_holds_a_card_number(fuzzed: Stack):
    letters = _all(fuzzed, fuzzed.topics.order_dlq.name)
    assert letters, "the fuzzing made no dead letters: it ran first, or the flow sent none"
    found = []
    for letter in letters:
        text = json.dumps(letter, ensure_ascii=False)
        if letter.get("valueEncoding") == "base64":
            text += base64.b64decode(letter["value"]).decode("latin-1")
        found += cards_in(text)
    assert found == []
    assert {d["reason"] for d in letters} >= {"invalid", "payment-lookup"}


def test_no_log_line_of_the_fuzzed_flow_holds_a_card_number(fuzzed: Stack):
    lines = [
        line for log in sorted(fuzzed.workdir.glob("*.log")) for line in log.read_text(errors="replace").splitlines()
    ]
    assert len(lines) > 10, f"the flow logged too little for the fuzzing to have reached it: {lines}"
    assert [line for line in lines if cards_in(line)] == []
