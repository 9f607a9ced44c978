"""An isolated order service on given servers, for tests and benchmarks: its own
topics and database, the dataflow and the API as real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from pymongo import MongoClient

from dataflows.setup import prepare
from devkit.servers import ROOT
from ops import children
from ops.produce import note_delivery_error
from shared.config import load_settings
from shared.storage import COLLECTION, RECORDS
from shared.topics import Topics

JWT_SECRET = "integration-secret-0123456789abcdef0123456789"


def with_database(uri: str, name: str) -> str:
    head, sep, query = uri.partition("?")
    scheme, rest = head.split("://", 1)
    hosts = rest.split("/", 1)[0]
    return f"{scheme}://{hosts}/{name}{sep}{query}"


class Stack:
    def __init__(
        self, kafka_uri: str, mongo_uri: str, workdir: Path, partitions: int = 4, env: dict[str, str] | None = None
    ):
        suffix = uuid.uuid4().hex[:8]
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "KAFKA_URI": kafka_uri,
            "MONGO_URI": with_database(mongo_uri, f"orders-{suffix}"),
            "TOPIC_PARTITIONS": str(partitions),
            "JWT_SEC": JWT_SECRET,
            "PYTHONPATH": str(ROOT),
            **{t.setting: f"{t.name}-{suffix}" for t in Topics().registered()},
            **(env or {}),
        }
        self.settings = load_settings(self.env, dotenv=None)
        self.topics = self.settings.topics
        prepare(self.settings)
        self.mongo: MongoClient[dict[str, Any]] = MongoClient(self.settings.mongo_uri, serverSelectionTimeoutMS=10_000)
        self.orders = self.mongo.get_default_database()[COLLECTION]
        self.records = self.mongo.get_default_database()[RECORDS]
        self.producer = self._producer()
        self.flows: list[subprocess.Popen] = []
        self.apis: list[subprocess.Popen] = []
        self.stopped: set[int] = set()

    def _producer(self) -> Producer:
        return Producer(self.settings.kafka.producer(linger_ms=2))

    def reconnect(self) -> None:
        """A new producer, for a broker restarted or topics made again under it."""
        self.producer.flush(10)
        self.producer = self._producer()

    # --- the dataflow process --------------------------------------------------

    def start_flow(
        self,
        recovery: Path | None = None,
        workers: int = 1,
        snapshot_s: int = 1,
        cluster: tuple[int, str] | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen:
        """``cluster`` is (process id, addresses) for one process of several (-i/-a);
        ``env``, settings for this process only (a fault test's ``FAULT_POINTS``)."""
        cmd = [sys.executable, "-m", "bytewax.run", "dataflows.main:get_flow()", "-w", str(workers)]
        if cluster is not None:
            cmd += ["-i", str(cluster[0]), "-a", cluster[1]]
        if recovery is not None:
            if not recovery.exists():
                from bytewax.recovery import init_db_dir

                recovery.mkdir(parents=True)
                init_db_dir(recovery, workers)
            cmd += ["-r", str(recovery), "-s", str(snapshot_s), "-b", "0"]
        log = open(self.workdir / f"flow-{len(self.flows)}.log", "wb")  # noqa: SIM115 (the child keeps it)
        proc = children.start(cmd, env={**self.env, **(env or {})}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.flows.append(proc)
        return proc

    def start_api(self, port: int, env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.workdir / f"api-{port}.log", "ab")  # noqa: SIM115 (the child keeps it; a restart appends)
        cmd = [sys.executable, "-m", "http_api", "--port", str(port)]
        proc = children.start(cmd, env={**self.env, **(env or {})}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.apis.append(proc)
        return proc

    def kill_flow(self, proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        if proc.poll() is None:
            self.stopped.add(proc.pid)
            os.killpg(proc.pid, sig)
            proc.wait(timeout=30)

    def flow_log(self) -> str:
        logs = sorted(self.workdir.glob("flow-*.log")) + sorted(self.workdir.glob("api-*.log"))
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in logs)

    def close(self) -> None:
        for proc in self.flows + self.apis:
            self.kill_flow(proc)
        self.producer.flush(10)
        del self.producer  # rdkafka stops (and stops logging) when the producer is freed
        self.mongo.close()

    # --- Kafka -----------------------------------------------------------------

    def produce(self, topic: str, items: Sequence[tuple[str | None, Any]]) -> None:
        failed: list[str] = []
        for key, body in items:
            value = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.producer.produce(
                topic, value, key.encode() if key else None, on_delivery=lambda e, _m: note_delivery_error(failed, e)
            )
            self.producer.poll(0)
        self.producer.flush(30)
        assert not failed, failed

    def consume(self, topic: str, until: Callable[[list[dict]], bool], timeout: float = 60) -> list[dict]:
        """Every message of ``topic`` from the start, once ``until(messages)`` holds."""
        consumer = Consumer(
            self.settings.kafka.client(**{"group.id": f"test-{uuid.uuid4().hex}", "enable.auto.commit": False})
        )
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, -2) for p in parts])
        messages: list[dict] = []
        deadline = time.monotonic() + timeout
        try:
            while not until(messages):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{topic}: {len(messages)} messages, condition not met\n{self.flow_log()}")
                for msg in consumer.consume(500, 0.2):
                    if msg.error() is None:
                        messages.append(json.loads(msg.value() or b"null"))
        finally:
            consumer.close()
        return messages

    # --- Mongo -----------------------------------------------------------------

    def wait_for(
        self, check: Callable[[], bool], timeout: float = 60, what: str = "condition", interval: float = 0.1
    ) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            crashed = [p for p in self.flows + self.apis if p.poll() is not None and p.pid not in self.stopped]
            if crashed:
                command = list(crashed[0].args)[2:4]  # type: ignore[arg-type]  # a list, as started
                raise RuntimeError(f"{command} exited with {crashed[0].returncode}\n{self.flow_log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} not met in {timeout}s\n{self.flow_log()}")
            time.sleep(interval)
