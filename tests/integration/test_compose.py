"""docker-compose.yml, up under a real container engine (podman), used as a user would:
payments to the compose broker become orders in the compose database, refunds go
through both API replicas' published ports, every target Prometheus is configured
with answers, a killed dataflow container is restarted and the cluster goes on,
and ``down`` leaves nothing behind.

Images are built here (tests/integration/compose_kit.py); Kafka and MongoDB are
Tansu and SecantusDB (tests/compose/podman-override.yml)."""

from __future__ import annotations

import os
import re
import secrets
import signal
import time
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
import yaml
from pymongo import MongoClient

from devkit.servers import ROOT, free_port_run
from http_api.auth import issue_token
from tests.integration.compose_kit import Compose, Podman, build_images, unavailable

pytestmark = pytest.mark.apache_only  # the servers are its own: once per test run is enough

FIRST, SECOND = 12, 8  # payments before and after a dataflow container is killed
PORTS = ("API_1_PORT", "API_2_PORT", "FLOW_0_METRICS_PORT", "FLOW_1_METRICS_PORT", "KAFKA_PORT", "MONGO_PORT")
SERVICES = ("api-1", "api-2", "flow-0", "flow-1")


def say(text: str) -> None:
    print(f"[compose] {text}", flush=True)


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Compose]:
    reason = unavailable()
    if reason is not None:
        pytest.skip(f"compose under podman: {reason}")
    work = tmp_path_factory.mktemp("compose")
    podman = Podman(work)
    first = free_port_run(len(PORTS))
    env = {name: str(first + i) for i, name in enumerate(PORTS)} | {"JWT_SEC": secrets.token_hex(32)}
    project: Compose | None = None
    try:
        build_images(podman, work, say)
        project = Compose(podman, f"ordertest{uuid.uuid4().hex[:8]}", podman.serve(), env)
        project.run_healthchecks()
        say("compose up")
        project("up", "-d", "--no-build")
        wait_healthy(project, SERVICES, 240)
        yield project
    finally:
        if project is not None:
            _down(project)
        podman.close()


def _down(project: Compose) -> None:
    project.stop_healthchecks()
    try:
        project("down", "-v", "--timeout", "10")
    except RuntimeError as exc:
        say(f"down failed: {exc}")


def wait_healthy(project: Compose, services: tuple[str, ...], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (states := {s: project.health(s) for s in services}) and set(states.values()) != {"healthy"}:
        if time.monotonic() > deadline:
            logs = {
                s: project.podman("logs", "--tail", "20", project.container(s), check=False).stderr for s in services
            }
            raise AssertionError(f"not healthy in {timeout}s: {states}\n{logs}")
        time.sleep(2)


def orders(project: Compose) -> list[dict]:
    uri = f"mongodb://127.0.0.1:{project.env['MONGO_PORT']}/order-service?directConnection=true"
    with MongoClient(uri, serverSelectionTimeoutMS=10_000) as client:
        return list(client.get_default_database()["orders"].find())


def produce(project: Compose, count: int, seed: int) -> None:
    """Payments from inside the compose network, by the image's own tool."""
    project.exec("flow-0", "python", "-m", "ops.produce", "--count", str(count), "--seed", str(seed))


def wait_for_orders(project: Compose, count: int, timeout: float = 120) -> list[dict]:
    deadline = time.monotonic() + timeout
    while len(found := orders(project)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(found)} orders of {count} after {timeout}s")
        time.sleep(1)
    return found


def refund_one(project: Compose, port_setting: str, order: dict) -> int:
    token = issue_token(project.env["JWT_SEC"], order["userId"], [])
    url = f"http://127.0.0.1:{project.env[port_setting]}/api/order/{order['_id']}/refund-product?timeout=20"
    body = f'{{"productId": "{order["products"][0]["productId"]}", "quantity": 1}}'.encode()
    request = urllib.request.Request(
        url, body, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def test_every_api_and_dataflow_container_becomes_healthy(compose: Compose):
    assert {s: compose.health(s) for s in SERVICES} == dict.fromkeys(SERVICES, "healthy")


def test_payments_to_the_compose_broker_become_orders_in_the_compose_database(compose: Compose):
    produce(compose, FIRST, seed=1)
    assert len(wait_for_orders(compose, FIRST)) == FIRST


def test_refunds_go_through_both_api_replicas(compose: Compose):
    first, second = wait_for_orders(compose, FIRST)[:2]
    assert refund_one(compose, "API_1_PORT", first) == 200
    assert refund_one(compose, "API_2_PORT", second) == 200
    refunded = {o["_id"]: o["products"][0]["refundedQuantity"] for o in orders(compose)}
    assert (refunded[first["_id"]], refunded[second["_id"]]) == (1, 1)


def test_every_target_prometheus_is_configured_with_serves_metrics(compose: Compose):
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    targets = [t for job in scrape["scrape_configs"] for c in job["static_configs"] for t in c["targets"]]
    for target in targets:
        # From inside the compose network, by service name, as Prometheus's container would.
        said = compose.exec("api-1", "python", "-m", "ops.probe", f"http://{target}/metrics").stdout
        assert said.strip() == "HTTP 200", f"{target}: {said}"


def test_a_killed_dataflow_container_is_restarted_and_the_cluster_goes_on(compose: Compose):
    pid = int(compose.podman("inspect", "--format", "{{.State.Pid}}", compose.container("flow-1")).stdout)
    os.kill(pid, signal.SIGKILL)
    time.sleep(3)  # the engine sees it exit and restarts it (restart: unless-stopped)
    wait_healthy(compose, ("flow-0", "flow-1"), 180)
    produce(compose, SECOND, seed=2)
    stored = wait_for_orders(compose, FIRST + SECOND, timeout=180)
    assert len(stored) == FIRST + SECOND
    restarts = compose.podman("inspect", "--format", "{{.RestartCount}}", compose.container("flow-1")).stdout
    assert int(restarts) >= 1


def test_the_servers_alone_come_up_without_a_jwt_secret(compose: Compose):
    """The file's "servers only" line, as its comment gives it: no JWT_SEC set."""
    first = free_port_run(2)
    env = {"KAFKA_PORT": str(first), "MONGO_PORT": str(first + 1)}
    servers = Compose(compose.podman, f"{compose.name}servers", compose.env["DOCKER_HOST"], env)
    servers.env.pop("JWT_SEC", None)
    servers.run_healthchecks()
    try:
        servers("up", "-d", "--no-build", "kafka", "mongo")
        wait_healthy(servers, ("kafka", "mongo"), 120)
        label = f"label=com.docker.compose.project={servers.name}"
        names = compose.podman("ps", "-a", "--format", "{{.Names}}", "--filter", label).stdout.split()
        assert sorted(names) == [servers.container("kafka"), servers.container("mongo")]
        assert orders(servers) == []  # the database answers on its published port
    finally:
        _down(servers)
    assert servers.leftovers() == {"containers": [], "volumes": [], "networks": []}


def test_down_leaves_no_container_volume_or_network(compose: Compose):
    compose.stop_healthchecks()
    compose("down", "-v", "--timeout", "10")
    assert compose.leftovers() == {"containers": [], "volumes": [], "networks": []}


def test_the_compose_file_publishes_every_port_it_is_given():
    text = (ROOT / "docker-compose.yml").read_text()
    assert {m for m in re.findall(r"\$\{([A-Z_0-9]+):-\d+\}", text)} >= set(PORTS)
