"""The deployment files: valid to their tools, and in step with the code.

CI installs docker-compose (Debian) and hadolint (PyPI) to check them; no Docker
engine is needed for either."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ops.dashboard import PANELS, Scrape, grafana_json

ROOT = Path(__file__).resolve().parents[2]
HADOLINT = shutil.which("hadolint") or str(Path(__file__).resolve().parents[2] / ".venv/bin/hadolint")


def compose(env: dict[str, str]) -> subprocess.CompletedProcess:
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed (CI installs Debian's)")
    others = {k: v for k, v in os.environ.items() if k != "JWT_SEC"}
    return subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**others, **env},
    )


def compose_config() -> dict:
    done = compose({"JWT_SEC": "a" * 64})
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


API_SERVICES = {"api-1", "api-2", "api-settings"}


def test_compose_takes_the_file_without_a_jwt_secret():
    done = compose({})
    assert done.returncode == 0, done.stderr


def test_only_the_api_services_are_given_the_jwt_secret():
    services = compose_config()["services"]
    given = {name for name, s in services.items() if "JWT_SEC" in (s.get("environment") or {})}
    assert given == API_SERVICES


def test_the_api_replicas_start_only_after_their_settings_are_checked():
    services = compose_config()["services"]
    check = services["api-settings"]
    assert check["command"][-1] == "--check-settings"
    assert check["restart"] == "no"
    for name in ("api-1", "api-2"):
        assert services[name]["depends_on"]["api-settings"]["condition"] == "service_completed_successfully"


def test_the_compose_file_is_valid_and_runs_the_whole_system():
    services = compose_config()["services"]
    assert {"kafka", "mongo", "topics", "flow-0", "flow-1", "api-1", "api-2"} <= services.keys()
    assert "--replSet" in services["mongo"]["command"]


def test_the_two_dataflow_processes_form_one_cluster():
    services = compose_config()["services"]
    commands = [services[f"flow-{i}"]["command"] for i in (0, 1)]
    addresses = {c[c.index("--addresses") + 1] for c in commands}
    assert addresses == {"flow-0:2101;flow-1:2101"}
    assert [c[c.index("--process-ids") + 1] for c in commands] == ["0", "1"]


def test_the_dockerfile_passes_hadolint():
    done = subprocess.run([HADOLINT, "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_committed_grafana_dashboard_is_the_generated_one():
    committed = json.loads((ROOT / "deploy/grafana/dashboards/order-service.json").read_text())
    assert committed == grafana_json()


def test_every_metric_a_panel_plots_is_one_the_code_defines():
    defined = set()
    for path in ("dataflows/flow_metrics.py", "http_api/metrics.py"):
        defined |= set(re.findall(r'"((?:order_flow|order_api)_[a-z_]+)"', (ROOT / path).read_text()))
    defined.add("bytewax_kafka_consumer_lag")
    plotted = {m for p in PANELS for m in re.findall(r"\b((?:order_flow|order_api|bytewax)_[a-z_]+)", p.promql)}
    suffixes = ("_sum", "_count", "_bucket", "_total")
    undefined = {m for m in plotted if m not in defined and not any(m.removesuffix(s) in defined for s in suffixes)}
    assert undefined == set()


def test_prometheus_scrapes_the_compose_services():
    scrape = yaml.safe_load((ROOT / "deploy/prometheus.yml").read_text())
    targets = {t for job in scrape["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    assert targets == {"flow-0:9464", "flow-1:9464", "api-1:8080", "api-2:8080"}


def test_the_api_services_listen_on_every_interface_of_their_container():
    services = compose_config()["services"]
    assert {services[name]["environment"]["ORDER_SERVICE_HOST"] for name in ("api-1", "api-2")} == {"0.0.0.0"}


def test_the_api_and_flow_services_have_healthchecks_on_their_health_routes():
    services = compose_config()["services"]
    probes = {name: " ".join(services[name]["healthcheck"]["test"]) for name in ("api-1", "api-2", "flow-0", "flow-1")}
    assert all("/health/ready" in probes[name] for name in ("api-1", "api-2"))
    assert all(":9464/live" in probes[name] for name in ("flow-0", "flow-1"))


def test_the_image_makes_the_recovery_mount_point_owned_by_its_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    user = re.search(r"^USER (\d+)", dockerfile, re.MULTILINE).group(1)
    assert re.search(r"useradd [^\n]*--uid " + user + r" orders", dockerfile)
    assert "mkdir /recovery" in dockerfile
    assert "chown orders /recovery" in dockerfile
    volumes = {v for name in ("flow-0", "flow-1") for v in compose_config()["services"][name]["volumes"]}
    assert {v["target"] if isinstance(v, dict) else v.split(":")[1] for v in volumes} == {"/recovery"}


def test_the_dashboard_asks_for_its_prometheus_instead_of_naming_one():
    dashboard = grafana_json()
    (variable,) = dashboard["templating"]["list"]
    assert (variable["type"], variable["query"]) == ("datasource", "prometheus")
    assert {p["datasource"]["uid"] for p in dashboard["panels"]} == {"${datasource}"}


def test_a_stalled_process_shows_on_its_own_line_of_the_progress_panel():
    (panel,) = [p for p in PANELS if "last_progress" in p.promql]
    assert "max(" not in panel.promql
    stamp = "order_flow_last_progress_timestamp_seconds"
    scrapes = [(100.0, {(stamp, (("instance", "a"),)): 99.0, (stamp, (("instance", "b"),)): 40.0})]
    assert panel.compute(scrapes) == {"a": [(100.0, 1.0)], "b": [(100.0, 60.0)]}


def test_a_latency_panel_reads_the_quantile_from_the_buckets_as_prometheus_does():
    (panel,) = [p for p in PANELS if "order_flow_write_seconds_bucket" in p.promql]
    name = "order_flow_write_seconds_bucket"

    def at(t: float, counts: dict[str, float]) -> Scrape:
        return t, {(name, (("target", "orders"), ("le", le))): c for le, c in counts.items()}

    # In one second, 100 writes: 90 within 10 ms, 9 more within 25 ms, one slower than 5 s.
    scrapes = [at(0.0, {"0.01": 0, "0.025": 0, "5.0": 0, "+Inf": 0})] * 5
    scrapes.append(at(1.0, {"0.01": 90, "0.025": 99, "5.0": 99, "+Inf": 100}))
    [(_, p99)] = panel.compute(scrapes)["orders"]
    assert p99 == pytest.approx(25.0)  # rank 99 is the last of the 10-25 ms bucket


def test_supervisor_restarts_are_plotted_per_process():
    (panel,) = [p for p in PANELS if "order_flow_supervisor_restarts_total" in p.promql]
    assert "by (instance)" in panel.promql


def test_the_api_latency_panel_leaves_probes_and_scrapes_out():
    (panel,) = [p for p in PANELS if "order_api_request_seconds_bucket" in p.promql]
    name = "order_api_request_seconds_bucket"

    def at(t: float, count: float) -> Scrape:
        routes = ("/metrics", "/api/order/{orderId}/refund")
        return t, {(name, (("route", r), ("le", le))): count for r in routes for le in ("0.1", "+Inf")}

    scrapes = [at(0.0, 0)] * 5 + [at(1.0, 10)]
    assert set(panel.compute(scrapes)) == {"/api/order/{orderId}/refund"}
    assert "/metrics" in panel.promql and "!~" in panel.promql


def test_compose_runs_the_kafka_version_the_tests_run():
    from devkit.kafka_jars import KAFKA_VERSION

    image = compose_config()["services"]["kafka"]["image"]
    assert image == f"apache/kafka:{KAFKA_VERSION}", image


def test_no_panel_depends_on_a_scrape_job_s_name():
    assert [p.promql for p in PANELS if "job=" in p.promql] == []
