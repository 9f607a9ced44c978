"""Each topic's JSON Schema (draft 2020-12), made from the declarations its parser reads
by (the inputs) or its encoder writes by (the outputs): docs/schemas/ holds them
(``python -m ops.schemas`` writes them), and the API serves them under
``/api/order/schemas``. docs/topics.md says the same in words."""

from __future__ import annotations

from typing import Any

from shared.schemas.contract import Shape, message_schema
from shared.schemas.dead_letters import DEAD_LETTER
from shared.schemas.event_codec import EVENTS
from shared.schemas.inputs import MAX_MESSAGE_BYTES, PAYMENT, PAYMENT_REFERENCE
from shared.schemas.outputs import COMPAT, STOCK_CHANGE
from shared.schemas.request_kinds import REQUEST_KINDS
from shared.topics import DEFAULT_TOPICS, Kind, Topic, Topics

Schema = dict[str, Any]
INPUT = f"A JSON object of at most {MAX_MESSAGE_BYTES:,} bytes (UTF-8); fields not named here are ignored."


def topic_schemas(topics: Topics = DEFAULT_TOPICS) -> dict[str, Schema]:
    """By topic name, every topic with a contract (a request kind without one has none)."""
    made = {topic.name: schema for topic in topics.all if (schema := _schema(topic)) is not None}
    return dict(sorted(made.items()))


def _schema(topic: Topic) -> Schema | None:
    if topic.kind == Kind.PAYMENT:
        either = {"anyOf": [PAYMENT_REFERENCE.schema(), PAYMENT.schema()]}
        return message_schema(topic.name, either, f"An accepted payment: one order. {INPUT}")
    if topic.kind in REQUEST_KINDS:
        contract: Shape | None = REQUEST_KINDS[topic.kind].contract
        label = REQUEST_KINDS[topic.kind].label
        return None if contract is None else message_schema(topic.name, contract, f"A {label} request. {INPUT}")
    if topic.kind == Kind.ORDER_EVENT:
        events = {"oneOf": [emitted.schema() for emitted in EVENTS.values()]}
        return message_schema(topic.name, events, "An order's event, by type; keyed by orderId.")
    if topic.kind == Kind.STOCK:
        return message_schema(topic.name, STOCK_CHANGE.schema(), "To the product service; keyed by productId.")
    if topic.kind == Kind.DEAD_LETTER:
        return message_schema(topic.name, DEAD_LETTER.schema(), "Keyed by the input's key.")
    if topic.kind == Kind.COMPAT:
        emitted = COMPAT[topic.role]
        return message_schema(topic.name, emitted.schema(), f"The original service's payload. {emitted.description}")
    return None


def schema_file(name: str) -> str:
    """Its file under docs/schemas/."""
    return f"{name}.schema.json"
