"""A dataflow process carries its supervisor's restart count into its metrics."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from dataflows.flow_metrics import RESTARTS_ENV, serve_configured
from shared.config import Settings

NAME = "order_flow_supervisor_restarts_total"


def test_a_process_started_after_three_restarts_counts_three(monkeypatch: pytest.MonkeyPatch):
    before = REGISTRY.get_sample_value(NAME) or 0.0
    monkeypatch.setenv(RESTARTS_ENV, "3")
    serve_configured(Settings(flow_metrics_port=None))
    assert (REGISTRY.get_sample_value(NAME) or 0.0) - before == 3
