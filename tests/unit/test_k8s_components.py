"""deploy/k8s's optional components, alone and together: each combination renders and
validates, can be applied again with a new image, and does what it says (the alert
rules fire in promtool's tests; the CA file is where KAFKA_SSL_CA_LOCATION points)."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from ops import k8s
from tests.unit.test_k8s import IMAGE_OVERRIDE, KUBERNETES, ROOT, container, find, kustomize

COMPONENTS = ("monitoring", "managed-kafka")
COMBINATIONS = [c for n in range(len(COMPONENTS) + 1) for c in itertools.combinations(COMPONENTS, n)]
OPERATOR_KINDS = {"PodMonitor", "PrometheusRule"}  # Prometheus Operator's: no schema offline
WORKLOADS = (("StatefulSet", "flow"), ("Deployment", "api"), ("Job", "order-topics"))
RULES = k8s.K8S / "components" / "monitoring" / "alert-rules.yaml"
ALERT_TESTS = ROOT / "tests" / "alerts" / "alerts.test.yaml"

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (its kustomize) not installed")


def with_components(work: Path, components: tuple[str, ...], extra: str = "") -> list[dict]:
    """A copy of deploy/k8s with ``components`` uncommented, as a user would, then built."""
    shutil.copytree(k8s.K8S, work, dirs_exist_ok=True)
    kustomization = work / "kustomization.yaml"
    text = kustomization.read_text()
    for component in components:
        line = f"#  - components/{component}"
        assert line in text, f"kustomization.yaml offers no {component} line to uncomment"
        text = text.replace(line, f"  - components/{component}")
    kustomization.write_text(text + extra)
    return kustomize(work)


def named(combination: tuple[str, ...]) -> str:
    return "+".join(combination) or "base"


@pytest.mark.parametrize("components", COMBINATIONS, ids=named)
def test_every_combination_renders_valid_kubernetes(components, tmp_path: Path):
    docs = with_components(tmp_path, components)
    for doc in docs:
        if doc["kind"] not in OPERATOR_KINDS:
            kubernetes_validate.validate(doc, KUBERNETES, strict=True)
    expected = OPERATOR_KINDS if "monitoring" in components else set()
    assert {d["kind"] for d in docs} & OPERATOR_KINDS == expected


IMMUTABLE = {
    "StatefulSet": ("selector", "serviceName", "podManagementPolicy", "volumeClaimTemplates"),
    "Deployment": ("selector",),
    "Service": ("clusterIP",),
    "PersistentVolumeClaim": ("accessModes", "storageClassName", "volumeMode"),
}


@pytest.mark.parametrize("components", COMBINATIONS, ids=named)
def test_applying_again_with_a_new_image_changes_no_immutable_field(components, tmp_path: Path):
    """A Job's pod template cannot change: one that keeps its name while its template
    changes must be gone first, by its TTL. Other kinds keep their immutable fields."""
    tag = IMAGE_OVERRIDE.replace('newTag: "1"', 'newTag: "{}"')
    first = with_components(tmp_path / "1", components, tag.format(1))
    second = with_components(tmp_path / "2", components, tag.format(2))
    before = {(d["kind"], d["metadata"]["name"]): d for d in first}
    for doc in second:
        old = before[(doc["kind"], doc["metadata"]["name"])]
        if doc["kind"] == "Job" and doc["spec"]["template"] != old["spec"]["template"]:
            assert doc["spec"].get("ttlSecondsAfterFinished") is not None, doc["metadata"]["name"]
        for field in IMMUTABLE.get(doc["kind"], ()):
            assert doc["spec"].get(field) == old["spec"].get(field), (doc["kind"], field)


def test_a_job_applied_twice_is_deleted_before_the_image_can_change():
    job = find(kustomize(k8s.K8S), "Job", "order-topics")
    assert 0 < job["spec"]["ttlSecondsAfterFinished"] <= 3600


def test_the_counts_are_one_value_each():
    """scale.yaml holds the replicas alone: the settings are copied from them."""
    patch = [d for d in yaml.safe_load_all((k8s.K8S / "scale.yaml").read_text()) if d]
    counts = [(d["kind"], d["spec"]) for d in patch]
    assert counts == [("StatefulSet", {"replicas": 2}), ("Deployment", {"replicas": 2})]


def test_a_count_set_with_kustomize_replicas_reaches_its_setting(tmp_path: Path):
    docs = with_components(tmp_path, (), "replicas:\n  - name: flow\n    count: 6\n")
    flow = find(docs, "StatefulSet", "flow")
    (env,) = [e["value"] for e in container(flow)["env"] if e["name"] == "FLOW_PROCESSES"]
    assert (flow["spec"]["replicas"], env) == (6, "6")


# --- monitoring ---------------------------------------------------------------


def monitoring(tmp_path: Path) -> list[dict]:
    return with_components(tmp_path, ("monitoring",))


def test_each_pod_monitor_selects_pods_that_serve_the_port_it_scrapes(tmp_path: Path):
    docs = monitoring(tmp_path)
    pods = {name: d for kind, name in WORKLOADS[:2] if (d := find(docs, kind, name))}
    for monitor in (d for d in docs if d["kind"] == "PodMonitor"):
        wanted = monitor["spec"]["selector"]["matchLabels"]
        (pod,) = [p for p in pods.values() if wanted.items() <= p["spec"]["template"]["metadata"]["labels"].items()]
        ports = {p["name"] for p in container(pod)["ports"]}
        assert {e["port"] for e in monitor["spec"]["podMetricsEndpoints"]} <= ports, monitor["metadata"]["name"]


def test_pod_monitors_give_the_job_names_the_alert_rules_read(tmp_path: Path):
    docs = monitoring(tmp_path)
    jobs = set()
    for monitor in (d for d in docs if d["kind"] == "PodMonitor"):
        label = monitor["spec"]["jobLabel"]
        jobs.add(monitor["spec"]["selector"]["matchLabels"][label])
    assert re.search(r'job=~"([^"]+)"', RULES.read_text())[1].split("|") == sorted(jobs, reverse=True)


def rules_dir(tmp_path: Path) -> Path:
    """The PrometheusRule's groups as a plain rules file, beside a copy of the tests."""
    if shutil.which("promtool") is None:
        pytest.skip("promtool not installed (apt-get install prometheus)")
    spec = yaml.safe_load(RULES.read_text())["spec"]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(spec))
    shutil.copy(ALERT_TESTS, tmp_path / "alerts.test.yaml")
    return tmp_path


def test_the_alert_rules_pass_promtool_check(tmp_path: Path):
    done = subprocess.run(["promtool", "check", "rules", str(rules_dir(tmp_path) / "rules.yaml")],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_fires_in_promtools_rule_tests(tmp_path: Path):
    done = subprocess.run(["promtool", "test", "rules", str(rules_dir(tmp_path) / "alerts.test.yaml")],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_has_a_rule_test_that_expects_it_to_fire():
    alerts = {r["alert"] for g in yaml.safe_load(RULES.read_text())["spec"]["groups"] for r in g["rules"]}
    tests = yaml.safe_load(ALERT_TESTS.read_text())["tests"]
    firing = {c["alertname"] for t in tests for c in t["alert_rule_test"] if c["exp_alerts"]}
    quiet = {c["alertname"] for t in tests for c in t["alert_rule_test"] if not c["exp_alerts"]}
    assert (alerts - firing, alerts - quiet) == (set(), set())


def test_every_metric_an_alert_reads_is_one_the_code_defines():
    defined = {"bytewax_kafka_consumer_lag", "up"}
    for path in ("dataflows/flow_metrics.py", "http_api/metrics.py"):
        defined |= set(re.findall(r'"((?:order_flow|order_api)_[a-z_]+)"', (ROOT / path).read_text()))
    exprs = [r["expr"] for g in yaml.safe_load(RULES.read_text())["spec"]["groups"] for r in g["rules"]]
    read = {m for e in exprs for m in re.findall(r"\b((?:order_flow|order_api|bytewax)_[a-z_]+|up)\b", e)}
    assert read - defined == set()


# --- managed-kafka ------------------------------------------------------------


def test_every_workload_mounts_the_ca_file_where_kafka_ssl_ca_location_points(tmp_path: Path):
    docs = with_components(tmp_path, ("managed-kafka",))
    location = Path(find(docs, "ConfigMap", "order-service-config")["data"]["KAFKA_SSL_CA_LOCATION"])
    for kind, name in WORKLOADS:
        pod = find(docs, kind, name)["spec"]["template"]["spec"]
        (mount,) = [m for m in container(find(docs, kind, name))["volumeMounts"] if m["name"] == "kafka-ca"]
        (volume,) = [v for v in pod["volumes"] if v["name"] == "kafka-ca"]
        assert Path(mount["mountPath"]) == location.parent, name
        assert volume["secret"]["secretName"] == "order-service-kafka-ca", name
        assert location.name in (k8s.K8S / "components/managed-kafka/kustomization.yaml").read_text()


def test_with_managed_kafka_every_workload_requires_the_connections_secret(tmp_path: Path):
    docs = with_components(tmp_path, ("managed-kafka",))
    for kind, name in WORKLOADS:
        sources = container(find(docs, kind, name))["envFrom"]
        (secret,) = [s["secretRef"] for s in sources if "secretRef" in s]
        assert (secret["name"], secret.get("optional", False)) == ("order-service-connections", False), name
        assert {"configMapRef": {"name": "order-service-config"}} in sources, name
