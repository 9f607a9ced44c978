"""Dead letters (``order-dlq``): a message the flow could not take, kept whole where it
can be, with where it came from and why (docs/topics.md); ``ops.redrive`` sends them back."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.redact import mask_cards, mask_cards_in_bytes, mask_cards_in_message
from shared.schemas.contract import INTEGER, STRING, STRING_OR_NULL, Emitted, array_of, const
from shared.schemas.outputs import OutMessage, dumps
from shared.topics import Topics


class DeadReason(StrEnum):
    """Why a message went to the dead-letter topic (its ``reason``, a metric label)."""

    INVALID = "invalid"  # not JSON, not an object, or a field the contract refuses
    KAFKA_ERROR = "kafka-error"  # the consumer handed on an error with the message
    PAYMENT_LOOKUP = "payment-lookup"  # a paymentId-only payment could not be completed
    INTERNAL = "internal-error"  # a step failed on this message: a bug, kept for replay once fixed


# A dead letter must fit the broker's message limit (1 MB by default) once its value
# is escaped into JSON, which can grow it 6 times; past this its value is cut short.
MAX_DEAD_LETTER_BYTES = 512 * 1024
TRUNCATED_VALUE_BYTES = 64 * 1024
MAX_KEY_BYTES = 1_000  # a dead letter's key (and its key field) is at most this long
MAX_HEADERS, MAX_HEADER_BYTES = 64, 8 * 1024  # a dead letter keeps this much of its message's headers


ENCODING = {"enum": ["utf-8", "base64"]}
INTEGER_OR_NULL = {"type": ["integer", "null"]}
HEADER = Emitted({"key": STRING, "value": STRING_OR_NULL, "valueEncoding": ENCODING}, "One of the message's headers.")
DEAD_LETTER = Emitted(
    {
        "topic": {**STRING_OR_NULL, "description": "The topic the message came from."},
        "partition": INTEGER_OR_NULL,
        "offset": INTEGER_OR_NULL,
        "key": {**STRING_OR_NULL, "description": "Text, or base64 (keyEncoding); at most 1,000 bytes."},
        "keyEncoding": ENCODING,
        "value": {**STRING_OR_NULL, "description": "Text, or base64 (valueEncoding)."},
        "valueEncoding": ENCODING,
        "headers": array_of(HEADER),
        "reason": {"enum": [str(reason) for reason in DeadReason]},
        "error": {**STRING, "description": "What was refused, and why."},
        "masked": {**const(True), "description": "A card number was starred: not the message exactly."},
        "truncated": {**const(True), "description": "Something was cut short: not the message exactly."},
        "valueBytes": {**INTEGER, "description": "The whole value's size, when it was cut."},
        "valueSha256": {**STRING, "description": "The whole value's SHA-256, when it was cut."},
    },
    "A message the flow could not take, with where it came from and why.",
    optional=frozenset({"masked", "truncated", "valueBytes", "valueSha256"}),
)


@dataclass(frozen=True, slots=True)
class DeadLetter(OutMessage):
    """A dead letter's message, with why and whence as values (what it is counted by)."""

    reason: str = ""
    source: str = ""  # the topic the message came from ("" when unknown)


def dead_letter(
    topics: Topics,
    source_topic: str | None,
    partition: int | None,
    offset: int | None,
    key: bytes | None,
    value: bytes | None,
    error: str,
    reason: DeadReason = DeadReason.INVALID,
    headers: Sequence[tuple[str, bytes | None]] = (),
) -> DeadLetter:
    """The dead letter of a message, card numbers masked; a value too large to carry is
    cut to its first bytes, with the whole value's size and SHA-256 to find it by.
    ``masked`` / ``truncated`` say when it no longer holds the message exactly (ops.redrive
    sends back only exact ones)."""
    original = (key, value, list(headers))
    masked_key = None if key is None else mask_cards_in_bytes(key)
    cut_key = None if masked_key is None else _utf8_prefix(masked_key[:MAX_KEY_BYTES])  # masked, then cut
    masked = None if value is None else mask_cards_in_message(value)
    masked_headers = [(name, None if v is None else mask_cards_in_bytes(v)) for name, v in headers]
    kept = [(name, None if v is None else v[:MAX_HEADER_BYTES]) for name, v in masked_headers[:MAX_HEADERS]]
    text_key = _text_or_base64(cut_key)
    letter: dict[str, Any] = {
        "topic": source_topic,
        "partition": partition,
        "offset": offset,
        "key": text_key,
        "keyEncoding": "utf-8" if _is_utf8(cut_key) else "base64",
        "value": _text_or_base64(masked),
        "valueEncoding": "utf-8" if _is_utf8(masked) else "base64",
        "headers": [_header(name, v) for name, v in kept],
        "reason": str(reason),
        "error": mask_cards(error)[:2_000],  # masked, then cut
    }
    if (masked_key, masked, masked_headers) != original:
        letter["masked"] = True  # a card number was starred: the message is no longer whole
    if cut_key != masked_key or kept != masked_headers:
        letter["truncated"] = True
    if (
        masked is not None
        and value is not None
        and len(value) > TRUNCATED_VALUE_BYTES
        and len(dumps(letter)) > MAX_DEAD_LETTER_BYTES
    ):
        cut = _utf8_prefix(masked[:TRUNCATED_VALUE_BYTES])
        letter.update(
            value=_text_or_base64(cut),
            valueEncoding="utf-8" if _is_utf8(cut) else "base64",
            truncated=True,
            valueBytes=len(value),
            valueSha256=hashlib.sha256(value).hexdigest(),
        )
    letter = DEAD_LETTER.checked(letter)
    return DeadLetter(topics.order_dlq.name, text_key or "", letter, str(reason), source_topic or "")


def _header(name: str, value: bytes | None) -> dict[str, str | None]:
    return {"key": name, "value": _text_or_base64(value), "valueEncoding": "utf-8" if _is_utf8(value) else "base64"}


def _utf8_prefix(cut: bytes) -> bytes:
    """``cut`` without a UTF-8 character its end split, so that text stays text."""
    try:
        cut.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(cut) - 3 and exc.reason == "unexpected end of data":
            return cut[: exc.start]
    return cut


def _is_utf8(raw: bytes | None) -> bool:
    try:
        (raw or b"").decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _text_or_base64(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    return raw.decode("utf-8") if _is_utf8(raw) else base64.b64encode(raw).decode()
