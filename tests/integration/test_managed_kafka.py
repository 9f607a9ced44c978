"""Managed Kafka: the flow and the API over SASL_SSL with SCRAM users, and a wrong
password refused at once with a message that says so."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.sandbox import Stack
from devkit.servers import ROOT, free_port
from shared.config import load_settings
from shared.kafka_config import check_access
from tests.integration.one_refund import pay_then_refund
from tests.integration.secure_kafka import SecureKafka, client_env, make_certificates

pytestmark = pytest.mark.apache_only  # a broker of its own: once per test run is enough

REFUSED_WITHIN_S = 20  # a wrong password ends a process this soon (librdkafka alone would retry forever)


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SecureKafka, Path]]:
    root = tmp_path_factory.mktemp("secure-kafka")
    ca, keystore = make_certificates(root / "certs")
    with SecureKafka(root / "kafka", keystore, log_path=root / "kafka.log") as kafka:
        yield kafka, ca


@pytest.fixture
def secure_stack(secure, servers, tmp_path: Path) -> Iterator[Stack]:
    kafka, ca = secure
    stack = Stack(kafka.secure_uri, servers.mongo_uri, tmp_path / "stack", env=client_env(kafka, ca))
    try:
        yield stack
    finally:
        stack.close()


async def test_a_payment_and_a_refund_go_through_sasl_ssl(secure_stack: Stack):
    stack = secure_stack
    stack.start_flow()
    port = free_port()
    stack.start_api(port)
    refunded = await pay_then_refund(stack, port, "secure-1")
    assert refunded.status == 200, refunded.body
    assert stack.orders.find_one({"_id": refunded.order_id})["products"][0]["refundedQuantity"] == 1


def test_scram_sha_512_is_accepted_too(secure):
    kafka, ca = secure
    assert check_access(load_settings(client_env(kafka, ca, "SCRAM-SHA-512"), dotenv=None).kafka) is True


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "http_api", "--port", "0"],
        [sys.executable, "-m", "bytewax.run", "dataflows.main:get_flow()"],
        [sys.executable, "-m", "ops.topics"],
    ],
    ids=["api", "flow", "topics"],
)
def test_a_wrong_password_ends_the_process_at_once_saying_why(secure_stack: Stack, command: list[str]):
    kafka_env = {"KAFKA_SASL_PASSWORD": "not-the-password-0123456789"}
    started = time.monotonic()
    done = subprocess.run(
        command,
        env={**secure_stack.env, **kafka_env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=REFUSED_WITHIN_S + 30,
    )
    took = time.monotonic() - started
    assert done.returncode != 0, f"{command[2]} kept running or succeeded:\n{done.stderr[-2000:]}"
    assert took < REFUSED_WITHIN_S, f"{command[2]} took {took:.1f}s to give up"
    assert "refused us as 'orders'" in done.stderr, done.stderr[-2000:]
    assert "invalid credentials" in done.stderr, done.stderr[-2000:]
