"""The Kubernetes manifests (deploy/k8s): valid against the Kubernetes schemas, and in
step with the code, rendered for 2 and for 4 dataflow processes."""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
from aiohttp import web

from http_api.routes import setup_routes
from ops.cluster import CLUSTER_PORT, parse_args, statefulset_plan
from ops.k8s import base, env_of, find, render

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = "1.33.0"
COUNTS = [2, 4]


def container(doc: dict) -> dict:
    (only,) = doc["spec"]["template"]["spec"]["containers"]
    return only


def config(docs: list[dict]) -> dict[str, str]:
    return find(docs, "ConfigMap", "order-service-config")["data"]


def port(c: dict, name: str) -> int:
    (number,) = [p["containerPort"] for p in c["ports"] if p["name"] == name]
    return number


@pytest.mark.parametrize("processes", COUNTS)
def test_every_rendered_resource_is_valid_kubernetes(processes):
    for doc in render(processes):
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def test_the_committed_files_are_the_rendering_for_two_processes():
    assert base() == render(2)


@pytest.mark.parametrize("processes", COUNTS)
def test_the_statefulset_runs_as_many_processes_as_it_has_pods(processes):
    flow = find(render(processes), "StatefulSet", "flow")
    assert env_of(container(flow))["FLOW_PROCESSES"] == str(processes)
    assert flow["spec"]["replicas"] == processes


@pytest.mark.parametrize("processes", COUNTS)
def test_each_pod_finds_every_peer_under_the_headless_service(processes):
    docs = render(processes)
    flow, service = find(docs, "StatefulSet", "flow"), find(docs, "Service", "flow")
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["publishNotReadyAddresses"] is True
    assert flow["spec"]["serviceName"] == service["metadata"]["name"]
    assert port(container(flow), "cluster") == CLUSTER_PORT
    expected = tuple(f"flow-{i}.flow:{CLUSTER_PORT}" for i in range(processes))
    assert [statefulset_plan(f"flow-{i}", "flow", processes, CLUSTER_PORT) for i in range(processes)] == [
        (expected, i) for i in range(processes)
    ]


def test_the_flow_command_is_one_ops_cluster_understands():
    command = container(find(render(2), "StatefulSet", "flow"))["command"][-1]
    words = command.replace('"$FLOW_PROCESSES"', "2").split()
    args = parse_args(words[words.index("ops.cluster") + 1 :])
    assert (args.statefulset, args.processes) == ("flow", 2)


def test_the_flow_serves_metrics_and_liveness_where_prometheus_and_the_probe_look():
    docs = render(2)
    flow = find(docs, "StatefulSet", "flow")
    metrics = int(config(docs)["FLOW_METRICS_PORT"])
    assert port(container(flow), "metrics") == metrics
    assert flow["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == str(metrics)
    assert container(flow)["livenessProbe"]["httpGet"]["path"] == "/live"
    assert config(docs)["FLOW_METRICS_HOST"] == "0.0.0.0"


def test_every_flow_pod_mounts_one_shared_recovery_store():
    docs = render(4)
    claim = find(docs, "PersistentVolumeClaim", "flow-recovery")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    (mount,) = container(find(docs, "StatefulSet", "flow"))["volumeMounts"]
    assert mount["mountPath"] == config(docs)["RECOVERY_DIR"]


def test_the_api_probes_are_routes_the_api_has():
    app = web.Application()
    setup_routes(app)
    paths = {r.resource.canonical for r in app.router.routes() if r.resource is not None}
    api = container(find(render(2), "Deployment", "api"))
    assert api["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert api["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert {"/health/ready", "/health/live"} <= paths


def test_the_api_listens_where_its_port_is_declared():
    docs = render(2)
    api = container(find(docs, "Deployment", "api"))
    assert port(api, "http") == int(config(docs)["ORDER_SERVICE_PORT"])
    assert config(docs)["ORDER_SERVICE_HOST"] == "0.0.0.0"


def test_each_api_replica_enforces_its_share_of_the_rate_limits():
    api = find(render(2, api_replicas=3), "Deployment", "api")
    assert env_of(container(api))["RATE_LIMIT_PROCESSES"] == "3"


def test_every_setting_the_manifests_give_is_a_documented_setting():
    documented = set(re.findall(r"^\| `([A-Z_]+)`", (ROOT / "docs/configuration.md").read_text(), re.MULTILINE))
    docs = render(2)
    given = set(config(docs))
    for kind, name in (("StatefulSet", "flow"), ("Deployment", "api")):
        given |= {e["name"] for e in container(find(docs, kind, name)).get("env", [])}
    assert given - documented - {"FLOW_PROCESSES"} == set()
