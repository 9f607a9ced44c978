"""Each topic's JSON Schema: made from the code (docs/schemas/ is what ops.schemas
writes), never stricter than the parser on the fuzz tests' messages, met by every
message the encoders write, and by every example in docs/topics.md."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from ops.schemas import DOCS, rendered
from shared.domain.handling import handle
from shared.schemas.dead_letters import dead_letter
from shared.schemas.messages import parse_message
from shared.schemas.outputs import render
from shared.schemas.topic_schemas import schema_file, topic_schemas
from shared.topics import DEFAULT_TOPICS
from tests.integration.test_fuzz_flow import message
from tests.unit.test_properties import commands, payments

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = topic_schemas()
VALIDATORS = {name: Draft202012Validator(schema) for name, schema in SCHEMAS.items()}
INPUTS = {t.name: t.kind for t in DEFAULT_TOPICS.inputs}
TOPIC_OF_KIND = {kind: name for name, kind in INPUTS.items()}
MANY = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


def errors(topic: str, value: object) -> list[str]:
    return [e.message for e in VALIDATORS[topic].iter_errors(value)]


NOT_JSON = object()


def decoded(raw: bytes) -> object:
    """As the parser reads it (decimals exact); NOT_JSON when it is not JSON."""
    try:
        return json.loads(raw, parse_float=Decimal)
    except (ValueError, RecursionError):
        return NOT_JSON


def test_every_schema_is_a_valid_draft_2020_12_schema():
    for schema in SCHEMAS.values():
        Draft202012Validator.check_schema(schema)


def test_every_topic_has_a_schema():
    assert set(SCHEMAS) == {t.name for t in DEFAULT_TOPICS.all}


def test_the_committed_schemas_are_the_ones_the_code_makes():
    committed = {p.name: p.read_text() for p in DOCS.glob("*.schema.json")}
    assert committed == {schema_file(name): rendered(schema) for name, schema in SCHEMAS.items()}, (
        "run python -m ops.schemas"
    )


@MANY
@given(st.data())
def test_a_message_the_parser_accepts_meets_its_topics_schema(data):
    sent = data.draw(message(0))
    parsed = parse_message(sent.kind, sent.value, sent.timestamp)
    if parsed.error is None:
        topic = TOPIC_OF_KIND[sent.kind]
        assert errors(topic, decoded(sent.value)) == [], sent.value[:300]


@MANY
@given(st.data())
def test_a_message_its_topics_schema_refuses_the_parser_refuses(data):
    sent = data.draw(message(1))
    body = decoded(sent.value)
    if body is not NOT_JSON and errors(TOPIC_OF_KIND[sent.kind], body):
        assert parse_message(sent.kind, sent.value, sent.timestamp).error is not None, sent.value[:300]


def test_the_fuzz_messages_reach_both_sides_of_the_schemas():
    """So that the two tests above test something: some fuzz messages are refused by
    a schema, and some are met by one."""
    seen = set()

    @settings(max_examples=200, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def sample(data):
        sent = data.draw(message(2))
        if (body := decoded(sent.value)) is not NOT_JSON:
            seen.add(not errors(TOPIC_OF_KIND[sent.kind], body))

    sample()
    assert seen == {True, False}


@MANY
@given(payments(), st.lists(commands, max_size=12))
def test_every_message_the_service_writes_meets_its_topics_schema(payment, cmds):
    order, events = handle(None, payment)
    written = render(events, order, DEFAULT_TOPICS)
    for command in cmds:
        order, events = handle(order, command)
        written += render(events, order, DEFAULT_TOPICS)
    for m in written:
        assert errors(m.topic, json.loads(json.dumps(m.value))) == [], (m.topic, m.value)


@MANY
@given(st.data())
def test_every_dead_letter_meets_the_dead_letter_schema(data):
    sent = data.draw(message(3))
    headers = [("h", b"v"), ("card", b"4242424242424242")]
    letter = dead_letter(DEFAULT_TOPICS, "payment-accepted", 0, 7, sent.key, sent.value, "refused", headers=headers)
    assert errors(DEFAULT_TOPICS.order_dlq.name, json.loads(json.dumps(letter.value))) == []


def docs_examples() -> list[tuple[str, str]]:
    """(topic, example) for each ```json block of docs/topics.md, under its topic's heading."""
    found, topic = [], None
    text = (ROOT / "docs" / "topics.md").read_text()
    for heading, block in re.findall(r"^### `([^`]+)`|^```json\n(.*?)^```", text, re.MULTILINE | re.DOTALL):
        if heading:
            topic = heading
        elif topic is not None:
            found.append((topic, block))
    return found


def test_every_topic_the_docs_show_an_example_of_has_one_per_input_at_least():
    shown = {topic for topic, _ in docs_examples()}
    assert set(INPUTS) <= shown
    assert {"order-events", "quantity-update", "order-dlq"} <= shown


def test_every_example_in_the_docs_meets_its_topics_schema():
    for topic, example in docs_examples():
        assert errors(topic, decoded(example.encode())) == [], (topic, example)


def test_every_input_example_in_the_docs_is_accepted_by_the_flow():
    for topic, example in docs_examples():
        if topic in INPUTS:
            parsed = parse_message(INPUTS[topic], example.encode(), 1_765_000_000_000)
            assert parsed.error is None, (topic, parsed.error)
