"""python -m ops.produce --check: a message read by the flow's own parser, before it is sent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from devkit.samples import payment, refund

ROOT = Path(__file__).resolve().parents[2]
ENV = {"PATH": "/usr/bin:/bin"}  # no KAFKA_URI: a check needs no broker


def check(tmp_path: Path, text: str, *more: str) -> subprocess.CompletedProcess:
    path = tmp_path / "message.json"
    path.write_text(text)
    command = [sys.executable, "-m", "ops.produce", "--check", str(path), *more]
    return subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=60)


def test_a_valid_payment_is_accepted_with_exit_0(tmp_path: Path):
    done = check(tmp_path, json.dumps(payment("pay-check")))
    assert done.returncode == 0, done.stderr
    assert "message 1: accepted on payment-accepted: AcceptPayment" in done.stdout


def test_a_refused_message_says_why_and_exits_1(tmp_path: Path):
    body = payment("pay-check")
    body["products"][0]["quantity"] = 0
    done = check(tmp_path, json.dumps(body))
    assert done.returncode == 1
    assert "refused on payment-accepted (it would go to order-dlq): products[0].quantity" in done.stdout


def test_one_message_a_line_each_checked_on_the_topic_named(tmp_path: Path):
    good = refund("r-1", "f89cbc0bc073fc5fabcbbdee", "apple", 1)
    lines = f'{json.dumps(good)}\n{{"requestId": "r-2"}}\n'
    done = check(tmp_path, lines, "--topic", "refund-request")
    assert done.returncode == 1
    assert "message 1: accepted on refund-request: RefundProduct" in done.stdout
    assert "message 2: refused on refund-request" in done.stdout


def test_a_topic_that_is_no_input_is_named_with_the_ones_there_are(tmp_path: Path):
    done = check(tmp_path, "{}", "--topic", "order-events")
    assert done.returncode == 2
    assert "'order-events' is not an input topic: payment-accepted" in done.stderr


def test_a_payment_by_its_id_alone_says_it_needs_the_payment_service(tmp_path: Path):
    done = check(tmp_path, '{"paymentId": "pay-1"}')
    assert done.returncode == 0
    assert "PaymentReference (completed from PAYMENT_SERVICE_URL" in done.stdout
