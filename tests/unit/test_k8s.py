"""The Kubernetes manifests (deploy/k8s): valid against the Kubernetes schemas, and in
step with the code, rendered for 2 and for 4 dataflow processes."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from aiohttp import web

from http_api.routes import setup_routes
from ops import k8s
from ops.cluster import CLUSTER_PORT, parse_args, statefulset_plan

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = "1.33.0"
COUNTS = [2, 4]
IMAGE_OVERRIDE = """images:
  - name: order-service
    newName: registry.example/order-service
    newTag: "1"
"""  # what `kustomize edit set image order-service:local=registry.example/order-service:1` writes

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (its kustomize) not installed")


def kustomize(directory: Path) -> list[dict]:
    built = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True, check=True)
    return [d for d in yaml.safe_load_all(built.stdout) if d]


@cache
def base() -> list[dict]:
    """The committed directory, as kubectl apply -k applies it."""
    return kustomize(k8s.K8S)


def scaled(work: Path, processes: int, api_replicas: int = 2, kustomization_extra: str = "") -> list[dict]:
    """A copy of deploy/k8s, scaled by ops.k8s as a user would, then built."""
    shutil.copytree(k8s.K8S, work, dirs_exist_ok=True)
    with (work / "kustomization.yaml").open("a") as f:
        f.write(kustomization_extra)
    assert k8s.main(["--processes", str(processes), "--api-replicas", str(api_replicas), "--into", str(work)]) == 0
    return kustomize(work)


@cache
def render(processes: int = 2, api_replicas: int = 2) -> list[dict]:
    import tempfile

    with tempfile.TemporaryDirectory() as work:
        return scaled(Path(work), processes, api_replicas)


def find(docs: list[dict], kind: str, name: str) -> dict:
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def env_of(container: dict) -> dict[str, str]:
    """A container's literal environment (values from secrets left out)."""
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


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


def test_a_rescale_keeps_an_image_set_with_kustomize(tmp_path: Path):
    docs = scaled(tmp_path, 4, kustomization_extra=IMAGE_OVERRIDE)
    images = {d["metadata"]["name"]: container(d)["image"] for d in docs if d["kind"] in {"StatefulSet", "Deployment"}}
    assert images == {"flow": "registry.example/order-service:1", "api": "registry.example/order-service:1"}
    assert find(docs, "StatefulSet", "flow")["spec"]["replicas"] == 4


def test_a_rescale_changes_only_the_counts_and_their_settings(tmp_path: Path):
    before, after = base(), scaled(tmp_path, 4, api_replicas=3)
    changed = [(d["kind"], d["metadata"]["name"]) for d, e in zip(before, after, strict=True) if d != e]
    assert changed == [("Deployment", "api"), ("StatefulSet", "flow")] or sorted(changed) == sorted(
        [("Deployment", "api"), ("StatefulSet", "flow")]
    ), changed


def test_ops_k8s_needs_no_yaml_library(tmp_path: Path):
    shutil.copytree(k8s.K8S, tmp_path, dirs_exist_ok=True)
    scale = f"main(['--processes', '3', '--into', {str(tmp_path)!r}])"
    code = f"import sys; sys.modules['yaml'] = None; from ops.k8s import main; {scale}"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert find(kustomize(tmp_path), "StatefulSet", "flow")["spec"]["replicas"] == 3


def test_every_workload_asks_for_cpu_and_memory_and_is_bounded_in_memory():
    for kind, name in (("StatefulSet", "flow"), ("Deployment", "api")):
        resources = container(find(base(), kind, name))["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]), (name, resources)
        assert "memory" in resources["limits"], (name, resources)


def test_a_disruption_budget_lets_one_flow_pod_go_at_a_time():
    budget = find(base(), "PodDisruptionBudget", "flow")
    flow = find(base(), "StatefulSet", "flow")
    assert budget["spec"]["maxUnavailable"] == 1
    assert budget["spec"]["selector"]["matchLabels"] == flow["spec"]["selector"]["matchLabels"]


def test_no_service_publishes_a_metrics_port():
    published = {p["port"] for d in base() if d["kind"] == "Service" for p in d["spec"]["ports"]}
    metrics = {int(config(base())["FLOW_METRICS_PORT"]), int(config(base())["API_METRICS_PORT"])}
    assert published & metrics == set(), published


def test_the_api_is_scraped_on_its_metrics_port():
    api = find(base(), "Deployment", "api")
    annotations = api["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == config(base())["API_METRICS_PORT"]
    assert port(container(api), "metrics") == int(config(base())["API_METRICS_PORT"])


def test_the_recovery_volume_states_it_needs_read_write_many():
    claim = find(base(), "PersistentVolumeClaim", "flow-recovery")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert "ReadWriteMany" in claim["metadata"]["annotations"]["order-service/requires"]


def test_the_flow_needs_no_jwt_secret():
    flow = container(find(render(2), "StatefulSet", "flow"))
    assert "JWT_SEC" not in env_of(flow)
    assert all("order-service-secrets" not in str(source) for source in flow.get("envFrom", []))
