"""Tracing is off unless the standard OTEL_* settings ask for it, and settings it
cannot honour are named at start."""

from __future__ import annotations

import subprocess
import sys

import pytest

from devkit.servers import ROOT
from shared import tracing


@pytest.mark.parametrize(
    ("env", "on"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "x"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False),
    ],
)
def test_tracing_is_on_only_when_an_exporter_is_configured(env, on):
    assert tracing.wanted(env) is on


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
        {"OTEL_TRACES_EXPORTER": "zipkin"},
    ],
)
def test_a_tracing_setting_that_cannot_work_is_named(env):
    said = tracing.problem(env)
    assert said is not None and next(iter(env.keys() - {"OTEL_EXPORTER_OTLP_ENDPOINT"})) in said


def test_the_api_refuses_to_start_on_a_grpc_exporter_naming_it():
    env = {"PATH": "/usr/bin:/bin", "JWT_SEC": "x" * 40, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317",
           "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "http_api"], env=env, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2
    assert "OTEL_EXPORTER_OTLP_PROTOCOL" in done.stderr, done.stderr


def test_with_tracing_off_the_sdk_is_not_imported():
    code = "import shared.tracing as t, sys; t.start('x', {}); print('opentelemetry.sdk' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
