"""Produce sample payments to ``payment-accepted`` (with a progress bar for many), or
check a message of your own before you send it.

python -m ops.produce --count 10
python -m ops.produce --count 100000 --users 500
python -m ops.produce --check payment.json                         # as the flow would read it
python -m ops.produce --check refund.jsonl --topic refund-request  # one message a line

``--check`` reads each message with the flow's own parser (what its topic's JSON
Schema, docs/schemas/, is made from) and says what it would become, or what the
flow would refuse and why (it would go to order-dlq). It sends nothing and needs no
broker; it exits 1 when any message is refused.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from ops.progress import progress
from shared.config import Settings, settings_or_exit
from shared.kafka_config import require_access


def sample_payment(rng: random.Random, user: str) -> dict:
    products: list[dict[str, Any]] = [
        {
            "productId": f"product-{rng.randrange(1, 200)}",
            "quantity": rng.randint(1, 3),
            "price": rng.randint(100, 5000) / 100,
        }
        for _ in range(rng.randint(1, 4))
    ]
    total = sum(round(p["price"] * 100) * p["quantity"] for p in products) / 100
    payment_id = uuid.UUID(int=rng.getrandbits(128)).hex
    return {
        "paymentId": payment_id,
        "userId": user,
        "checkoutId": f"checkout-{payment_id[:8]}",
        "basketId": f"basket-{payment_id[:8]}",
        "products": products,
        "address": f"{rng.randint(1, 999)} Sample Street",
        "isGift": rng.random() < 0.1,
        "totalPrice": total,
        "cardNumber": "4242424242424242",
    }


def note_delivery_error(failed: list[str], err: object) -> None:
    """A delivery callback's error, kept to report."""
    if err is not None:
        failed.append(str(err))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m ops.produce", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=10, help="how many payments (default 10)")
    parser.add_argument("--users", type=int, default=3, help="spread over user-0 .. user-N-1 (default 3)")
    parser.add_argument("--seed", type=int, help="random seed, for repeatable data")
    parser.add_argument("--print-ids", action="store_true", help="print each paymentId and orderId")
    parser.add_argument(
        "--wait", action="store_true", help="wait until every order is in Mongo (MONGO_URI) and say when"
    )
    parser.add_argument("--check", metavar="FILE", help="check FILE's message(s) (- for stdin) and send nothing")
    parser.add_argument("--topic", help="with --check: the input topic it is for (default the payments topic)")
    args = parser.parse_args(argv)
    settings = settings_or_exit()
    if args.check:
        raise SystemExit(check_messages(args.check, args.topic or settings.topics.payment_accepted.name, settings))
    running = settings.data_dir / "run.env"
    if not settings.brokers and running.exists():
        settings = settings_or_exit(dotenv=running)  # the servers `make run` started
    if not settings.brokers:
        parser.error("KAFKA_URI is not set and `make run` is not running")
    from shared.ids import order_id_for_payment

    rng = random.Random(args.seed)
    require_access(settings.kafka, "ops.produce")
    producer = Producer(settings.kafka.producer(linger_ms=5))
    topic = settings.topics.payment_accepted.name
    failed: list[str] = []
    started = time.monotonic()
    produced: list[str] = []
    for i in range(args.count):
        body = sample_payment(rng, f"user-{i % args.users}")
        produced.append(body["paymentId"])
        while True:
            try:
                producer.produce(topic, json.dumps(body).encode(), body["paymentId"].encode(),
                                 on_delivery=lambda err, _m: note_delivery_error(failed, err))  # fmt: skip
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
        if args.print_ids:
            print(f"payment {body['paymentId']} -> order {order_id_for_payment(body['paymentId'])}")
        if args.count >= 100 and (i % 500 == 0 or i == args.count - 1):
            progress(i + 1, args.count, started)
    producer.flush()
    if args.count >= 100:
        sys.stderr.write("\n")
    if failed:
        raise SystemExit(f"{len(failed)} payments not delivered: {failed[0]}")
    print(f"produced {args.count} payments to {topic}")
    if args.wait:
        wait_for_orders(settings.mongo_uri, [order_id_for_payment(p) for p in produced], time.monotonic())


def check_messages(path: str, topic: str, settings: Settings) -> int:
    """Print what each message of ``path`` would become on ``topic``; 1 when one is refused."""
    from shared.schemas.messages import parse_message

    inputs = {t.name: t.kind for t in settings.topics.inputs}
    if topic not in inputs:
        print(f"--topic {topic!r} is not an input topic: {', '.join(inputs)}", file=sys.stderr)
        return 2
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8", errors="surrogateescape")
    refused = 0
    now_ms = int(time.time() * 1000)  # the timestamp Kafka gives a message it is sent
    for number, message in enumerate(_messages(text), 1):
        parsed = parse_message(inputs[topic], message.encode("utf-8", "surrogateescape"), now_ms)
        if parsed.error is None:
            print(f"message {number}: accepted on {topic}: {type(parsed.command).__name__}{_later(parsed.command)}")
        else:
            refused += 1
            print(f"message {number}: refused on {topic} (it would go to order-dlq): {parsed.error}")
    return 1 if refused else 0


def _later(command: object) -> str:
    from shared.schemas.inputs import PaymentReference

    if isinstance(command, PaymentReference):
        return " (completed from PAYMENT_SERVICE_URL; without it, or unanswered, it goes to order-dlq)"
    return ""


def _messages(text: str) -> list[str]:
    """The file as one message, or, when it is not one JSON value, a message a line."""
    try:
        json.loads(text)
    except ValueError:
        return [line for line in text.splitlines() if line.strip()]
    return [text]


def wait_for_orders(mongo_uri: str | None, order_ids: list[str], since: float, timeout: float = 120) -> None:
    """Poll Mongo until every order is there; print how long after producing that was."""
    if not mongo_uri:
        raise SystemExit("--wait needs MONGO_URI (make run prints it)")
    from dataflows.mongo_io import orders_collection
    from shared.storage import id_queries

    orders = orders_collection(mongo_uri)
    missing = list(order_ids)
    while missing and time.monotonic() - since < timeout:
        present: set[str] = set()
        for query in id_queries(missing):
            present.update(d["_id"] for d in orders.find(query, {"_id": 1}))
        missing = [o for o in missing if o not in present]
        if missing:
            time.sleep(0.02)
    if missing:
        raise SystemExit(f"{len(missing)} orders still missing after {timeout:.0f}s")
    print(f"all {len(order_ids)} orders are in Mongo {time.monotonic() - since:.2f}s after the last was produced")


if __name__ == "__main__":
    main()
