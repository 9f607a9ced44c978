"""schemathesis against the live API's own openapi.json: no 5xx, every response
as documented (status code, content type, headers and body schema)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from devkit.sandbox import JWT_SECRET, Stack
from devkit.servers import free_port, wait_for_port
from http_api.auth import issue_token
from shared.ids import order_id_for_payment
from tests.card_scan import cards_in
from tests.flowkit import payment

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",  # input the schema forbids is refused with a 4xx
    ]
)


def test_the_live_api_conforms_to_its_openapi_document(stack: Stack, tmp_path: Path):
    stack.start_flow()
    stack.produce(stack.topics.payment_accepted.name, [(f"pay-{i}", payment(f"pay-{i}")) for i in range(5)])
    stack.wait_for(lambda: stack.orders.count_documents({}) == 5, what="5 orders")
    port = free_port()
    api = stack.start_api(port)
    wait_for_port(port, api, 30, "the API")
    token = issue_token(JWT_SECRET, "user-1", [])
    # fmt: off
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"http://127.0.0.1:{port}/api/order/openapi.json",
            "--url",
            f"http://127.0.0.1:{port}",
            "-H",
            f"Authorization: Bearer {token}",
            "--checks",
            CHECKS,
            "--mode",
            "all",  # valid data and data the schema forbids (negative), beside our own edge cases in test_bad_input
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "25",
            "--max-time",
            "90",
            "--request-timeout",
            "10",
            "--seed",
            "1",
            "--suppress-health-check",
            "all",
            "--warnings",
            "off",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    # fmt: on
    assert result.returncode == 0, _failures(result.stdout) + result.stderr[-2000:] + stack.flow_log()
    print(result.stdout[-3000:])
    assert "passed" in result.stdout.lower()
    assert stack.orders.count_documents({"_id": order_id_for_payment("pay-0")}) == 1
    logged = [
        line for log in sorted(tmp_path.glob("api-*.log")) for line in log.read_text(errors="replace").splitlines()
    ]
    assert len(logged) > 100, "the API logged too little for the fuzzing to have reached it"
    assert [line for line in logged if cards_in(line)] == []


def _failures(stdout: str) -> str:
    """schemathesis's report from its failures on (the fuzzing's URLs can be long)."""
    start = stdout.find("FAILURES")
    return stdout[start : start + 8000] if start >= 0 else stdout[-6000:]
