"""Send dead letters back to the topics they came from, once the cause is fixed.

    python -m ops.redrive --reason payment-lookup --dry-run     # what would go
    python -m ops.redrive --reason payment-lookup               # send them
    python -m ops.redrive --source refund-request --since 2026-12-03T10:00:00Z --until 2026-12-03T11:00:00Z
    python -m ops.redrive --partition 0 --offsets 120-180       # dead letters 120..180 of partition 0

Each selected dead letter's original message (key, value and headers, as it came)
is produced to its source topic with one more header, ``redriven-from``, naming
the dead letter and the message sent: ``order-dlq/<partition>@<offset>;sha256=<hex>``
(a digest of the key and value). The flow then reads it as any
other message (a payment, a refund request, an update request).

Sent once, never twice: before sending, it reads the source topics from the time
of the earliest selected dead letter (less an hour, for clocks that differ) and collects the ``redriven-from`` headers
already there whose message has the key and value the header's digest names. A dead
letter named by one is skipped; a header on any other message (any writer can add
one) skips nothing, so a payment is never lost to it. The topic itself is the
record, so a run that crashed halfway, after some sends, is completed by the next
run without repeating them. The producer is idempotent and waits for every send
to be acknowledged before it reports success.

It refuses a dead letter that no longer holds its message exactly, and says why:
``truncated`` (its value, key or headers were cut to fit), ``masked`` (a card
number in it was starred: the original is still at the source topic's offset the
dead letter names, while the topic retains it), or one without a source topic.

KAFKA_URI, KAFKA_* security and TOPIC_* come from the environment or .env.
Exit 0 when every selected dead letter was sent (or had been), 1 when any was refused.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from confluent_kafka import Message, Producer

from ops.log_reader import read_messages
from ops.progress import progress
from shared.config import settings_or_exit
from shared.kafka_config import KafkaConnection
from shared.logs import configure_logging
from shared.topics import Topics

HEADER = "redriven-from"
PROGRESS_EVERY = 1_000
# A redriven message's timestamp comes from this host's clock, the dead letter's from the
# flow's: the search for earlier sends starts this long before the earliest dead letter.
CLOCK_SKEW_MS = 3_600_000


@dataclass(frozen=True)
class Letter:
    """One dead letter, where it sits in the dead-letter topic, and what it holds."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    body: dict

    @property
    def name(self) -> str:
        return f"{self.topic}/{self.partition}@{self.offset}"

    @property
    def reason(self) -> str:
        return str(self.body.get("reason"))

    @property
    def source(self) -> str | None:
        return self.body.get("topic")


@dataclass(frozen=True)
class Selection:
    reasons: frozenset[str] = frozenset()
    sources: frozenset[str] = frozenset()
    since_ms: int | None = None
    until_ms: int | None = None
    partitions: frozenset[int] = frozenset()
    offsets: tuple[int, int] | None = None

    def takes(self, letter: Letter) -> bool:
        return (
            (not self.reasons or letter.reason in self.reasons)
            and (not self.sources or letter.source in self.sources)
            and (self.since_ms is None or letter.timestamp_ms >= self.since_ms)
            and (self.until_ms is None or letter.timestamp_ms < self.until_ms)
            and (not self.partitions or letter.partition in self.partitions)
            and (self.offsets is None or self.offsets[0] <= letter.offset <= self.offsets[1])
        )


def refusal(letter: Letter, inputs: frozenset[str]) -> str | None:
    """Why ``letter`` cannot be sent back as its original message, or None."""
    body = letter.body
    if body.get("truncated"):
        return "truncated: the dead letter holds only part of the message"
    if body.get("masked"):
        where = f"{letter.source}/{body.get('partition')}@{body.get('offset')}"
        return f"masked: a card number in it was starred; the original is at {where} while retained"
    if letter.source is None or "headers" not in body:
        return "no original message: the dead letter names no source topic or has no headers (older format)"
    if letter.source not in inputs:
        return f"its source topic {letter.source} is not one the flow reads"
    return None


def original(letter: Letter) -> tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]]]:
    """The message as it came: key, value and headers, with the redrive header added."""
    body = letter.body
    headers = [(h["key"], _bytes(h["value"], h["valueEncoding"])) for h in body["headers"] if h["key"] != HEADER]
    key, value = _key_value(letter)
    headers.append((HEADER, redrive_mark(letter.name, key, value).encode()))
    return key, value, headers


def _key_value(letter: Letter) -> tuple[bytes | None, bytes | None]:
    body = letter.body
    return _bytes(body.get("key"), body.get("keyEncoding", "utf-8")), _bytes(body.get("value"), body["valueEncoding"])


def redrive_mark(name: str, key: bytes | None, value: bytes | None) -> str:
    """The ``redriven-from`` header: the dead letter's name and a digest of the key and
    value sent, so that only the message that really carries the letter counts as its
    send (any writer to an input topic can add a header; it cannot make a payment it
    does not have)."""
    digest = hashlib.sha256()
    for part in (key, value):
        digest.update(b"\xff" if part is None else len(part).to_bytes(8, "big") + part)
    return f"{name};sha256={digest.hexdigest()}"


def letter_mark(letter: Letter) -> str:
    return redrive_mark(letter.name, *_key_value(letter))


def _bytes(text: str | None, encoding: str) -> bytes | None:
    if text is None:
        return None
    return base64.b64decode(text) if encoding == "base64" else text.encode("utf-8")


def dead_letters(kafka: KafkaConnection, dlq: str, since_ms: int | None, show: bool) -> Iterator[Letter]:
    for msg in read_messages(kafka, dlq, since_ms, show):
        body = _json_object(msg)
        if body is not None:
            yield Letter(dlq, msg.partition() or 0, msg.offset() or 0, msg.timestamp()[1], body)


def _json_object(msg: Message) -> dict | None:
    try:
        body = json.loads(msg.value() or b"")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def already_sent(kafka: KafkaConnection, sources: Iterable[str], since_ms: int, show: bool) -> set[str]:
    """The ``redriven-from`` marks in ``sources`` since ``since_ms`` that their messages
    bear out: a mark counts only on a message with the key and value it names."""
    sent: set[str] = set()
    for topic in sorted(set(sources)):
        for msg in read_messages(kafka, topic, since_ms, show):
            headers = msg.headers() or []  # a list of (name, value) from a consumer
            sent.update(borne_out(headers, msg.key(), msg.value()))  # type: ignore[arg-type]
    return sent


def borne_out(headers: Iterable[tuple[str, object]], key: bytes | None, value: bytes | None) -> list[str]:
    """The message's ``redriven-from`` marks that name its own key and value."""
    marks = [v.decode("utf-8", "replace") for name, v in headers if name == HEADER and isinstance(v, bytes)]
    return [m for m in marks if m == redrive_mark(m.partition(";")[0], key, value)]


@dataclass
class Plan:
    send: list[Letter]
    sent_before: list[Letter]
    refused: list[tuple[Letter, str]]


def plan(letters: Iterable[Letter], selection: Selection, inputs: frozenset[str], sent: set[str]) -> Plan:
    result = Plan([], [], [])
    for letter in letters:
        if not selection.takes(letter):
            continue
        why = refusal(letter, inputs)
        if why is not None:
            result.refused.append((letter, why))
        elif letter_mark(letter) in sent:
            result.sent_before.append(letter)
        else:
            result.send.append(letter)
    return result


def send(kafka: KafkaConnection, letters: list[Letter], show: bool) -> int:
    """Produce each letter's original message to its source; returns how many were acknowledged."""
    producer = Producer(kafka.producer(linger_ms=5))
    failures: list[str] = []

    def delivered(err, msg) -> None:
        if err is not None:
            failures.append(f"{msg.topic()}: {err}")

    started = time.monotonic()
    for done, letter in enumerate(letters, 1):
        key, value, headers = original(letter)
        while True:
            try:
                producer.produce(letter.source or "", value, key, headers=headers, on_delivery=delivered)  # type: ignore[arg-type]
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
        if show and done % PROGRESS_EVERY == 0:
            progress(done, len(letters), started)
    left = producer.flush(60)
    if show and len(letters) >= PROGRESS_EVERY:
        progress(len(letters), len(letters), started)
        sys.stderr.write("\n")
    if failures or left:
        raise RuntimeError(f"{len(failures) + left} of {len(letters)} sends failed: {failures[:3]}")
    return len(letters)


def summary(result: Plan, sent: int | None) -> str:
    chosen = result.send + result.sent_before + [letter for letter, _ in result.refused]
    lines = [f"selected {len(chosen):,} dead letters"]
    lines += _counts("by reason", Counter(letter.reason for letter in chosen))
    lines += _counts("by source", Counter(str(letter.source) for letter in chosen))
    verb = "would send" if sent is None else "sent"
    lines.append(
        f"{verb} {len(result.send) if sent is None else sent:,}; sent by an earlier run {len(result.sent_before):,}"
    )
    lines.append(f"refused {len(result.refused):,}")
    for (letter, why), _ in zip(result.refused, range(20), strict=False):
        lines.append(f"  {letter.name} ({letter.reason}, from {letter.source}): {why}")
    if len(result.refused) > 20:
        lines.append(f"  ... and {len(result.refused) - 20:,} more")
    return "\n".join(lines)


def _counts(title: str, counts: Counter) -> list[str]:
    return [f"  {title}: " + ", ".join(f"{name} {n:,}" for name, n in counts.most_common())] if counts else []


def _time_ms(text: str) -> int:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an ISO 8601 time, e.g. 2026-12-03T10:00:00Z") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r}: give a time zone, e.g. 2026-12-03T10:00:00Z")
    return int(moment.timestamp() * 1000)


def _offsets(text: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    try:
        low, high = int(first), int(last or first)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected FIRST-LAST or one offset, e.g. 120-180") from None
    if not 0 <= low <= high:
        raise argparse.ArgumentTypeError(f"{text!r}: expected 0 <= FIRST <= LAST")
    return low, high


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ops.redrive", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--reason", action="append", default=[], help="only dead letters of this reason (repeatable)")
    p.add_argument("--source", action="append", default=[], help="only those from this topic (repeatable)")
    p.add_argument("--since", type=_time_ms, help="only those dead-lettered at or after this time (ISO 8601)")
    p.add_argument("--until", type=_time_ms, help="only those dead-lettered before this time (ISO 8601)")
    p.add_argument("--partition", type=int, action="append", default=[], help="only this dead-letter partition")
    p.add_argument("--offsets", type=_offsets, help="only dead-letter offsets FIRST-LAST (inclusive)")
    p.add_argument("--dry-run", action="store_true", help="list what would be sent, send nothing")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = settings_or_exit()
    configure_logging("redrive", settings.log_format, settings.log_level)
    if not settings.brokers:
        parser().error("KAFKA_URI must be set")
    topics: Topics = settings.topics
    selection = Selection(
        frozenset(args.reason), frozenset(args.source), args.since, args.until, frozenset(args.partition), args.offsets
    )
    show = not args.quiet
    letters = [x for x in dead_letters(settings.kafka, topics.order_dlq.name, args.since, show) if selection.takes(x)]
    inputs = frozenset(t.name for t in topics.inputs)
    sources = {x.source for x in letters if x.source is not None and x.source in inputs}
    earliest = min((x.timestamp_ms for x in letters), default=None)
    sent_before = set() if earliest is None else already_sent(settings.kafka, sources, earliest - CLOCK_SKEW_MS, show)
    result = plan(letters, selection, inputs, sent_before)
    sent = None if args.dry_run else send(settings.kafka, result.send, show)
    print(summary(result, sent))
    return 1 if result.refused else 0


if __name__ == "__main__":
    sys.exit(main())
