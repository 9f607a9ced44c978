"""How every Kafka client of the service connects and writes: one place for the
brokers, the security settings (SASL, TLS) and the producer defaults.

Security comes from the environment (docs/configuration.md, "Kafka security"):
``KAFKA_SECURITY_PROTOCOL``, ``KAFKA_SASL_MECHANISM``, ``KAFKA_SASL_USERNAME``,
``KAFKA_SASL_PASSWORD``, ``KAFKA_SSL_CA_LOCATION``, and any other librdkafka
setting as ``KAFKA_CONFIG_<NAME>`` (Confluent's convention: ``_`` is ``.``,
``__`` is ``_``, ``___`` is ``-``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PRODUCER_DEFAULTS: dict[str, Any] = {
    "acks": "all",
    "enable.idempotence": True,
    "compression.type": "lz4",
    "message.timeout.ms": 120_000,
}

# How long a fetch may wait for data (KAFKA_FETCH_WAIT_MS unset): Apache Kafka answers a
# fetch as soon as data arrives, so a long wait costs no latency and spares the broker an
# idle consumer's fetches (2 s against 500 ms: an idle make run's broker 0.043 cores
# against 0.054, docs/benchmarks.md); a broker that holds every fetch for its whole wait
# (Tansu, known by the cluster id every Tansu reports) gets a short one.
LONG_FETCH_WAIT_MS = 2000
SHORT_FETCH_WAIT_MS = 20
HOLDING_BROKERS = {"tansu_cluster": "Tansu"}  # cluster id -> name, of brokers that hold fetches

RDKAFKA_LOG = logging.getLogger("rdkafka")
log = logging.getLogger(__name__)
PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
PASS_THROUGH_PREFIX = "KAFKA_CONFIG_"
NAMED_SETTINGS = {
    "KAFKA_SECURITY_PROTOCOL": "security.protocol",
    "KAFKA_SASL_MECHANISM": "sasl.mechanism",
    "KAFKA_SASL_USERNAME": "sasl.username",
    "KAFKA_SASL_PASSWORD": "sasl.password",
    "KAFKA_SSL_CA_LOCATION": "ssl.ca.location",
}
# A property whose name says it may hold a secret is starred (sasl.password,
# ssl.key.password, ssl.keystore.password, sasl.oauthbearer.client.secret, ssl.key.pem,
# and any librdkafka adds later; a certificate given inline is starred with the key:
# the safe mistake), and so are those whose names do not say so.
SECRET_WORDS = ("password", "secret", "token", "credential", ".pem", "private")
SECRET_KEYS = frozenset({"sasl.oauthbearer.config"})  # may carry a client secret or a token


def security_from_env(env: Mapping[str, str]) -> dict[str, str]:
    """The librdkafka security settings named in ``env``."""
    found = {key: env[name] for name, key in NAMED_SETTINGS.items() if env.get(name)}
    for name, value in env.items():
        if name.startswith(PASS_THROUGH_PREFIX) and len(name) > len(PASS_THROUGH_PREFIX):
            found[property_name(name[len(PASS_THROUGH_PREFIX) :])] = value
    if "security.protocol" in found:
        found["security.protocol"] = found["security.protocol"].upper()
    return found


def property_name(env_suffix: str) -> str:
    """``SSL_ENDPOINT_IDENTIFICATION_ALGORITHM`` -> ``ssl.endpoint.identification.algorithm``."""
    return env_suffix.lower().replace("___", "-").replace("__", "\0").replace("_", ".").replace("\0", "_")


def without_secrets(security: Mapping[str, str]) -> dict[str, str]:
    """``security`` with every password and secret starred, for a repr or a log line."""
    return {k: "***" if _secret(k) else v for k, v in security.items()}


def _secret(name: str) -> bool:
    return name in SECRET_KEYS or any(word in name for word in SECRET_WORDS)


@dataclass(frozen=True)
class KafkaConnection:
    """Where the brokers are and how to reach them: every client's config starts here."""

    brokers: tuple[str, ...] = ()
    security: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"KafkaConnection(brokers={self.brokers!r}, security={without_secrets(self.security)!r})"

    def client(self, **extra: Any) -> dict[str, Any]:
        # librdkafka's own lines go through Python's logging (as JSON with LOG_FORMAT=json),
        # served by each client's poll, instead of straight to stderr.
        return {"bootstrap.servers": ",".join(self.brokers), "logger": RDKAFKA_LOG, **self.security, **extra}

    def producer(self, linger_ms: int, timeout_ms: int | None = None) -> dict[str, Any]:
        """``linger_ms``: how long a send waits for others to share its batch (latency against
        throughput: the API lingers 1 ms, the flow 5). ``timeout_ms``: how long a message may
        wait for delivery before it fails (default 120 s)."""
        config = self.client(**PRODUCER_DEFAULTS, **{"linger.ms": linger_ms})
        if timeout_ms is not None:
            config["message.timeout.ms"] = timeout_ms
        return config

    def problem(self) -> str | None:
        """What in the security settings cannot work, or None."""
        sec = self.security
        protocol = sec.get("security.protocol", "PLAINTEXT")
        if protocol not in PROTOCOLS:
            return f"KAFKA_SECURITY_PROTOCOL={protocol!r} is not one of {', '.join(PROTOCOLS)}"
        if protocol.startswith("SASL"):
            mechanism = sec.get("sasl.mechanism")
            if not mechanism:  # others than these (OAUTHBEARER, GSSAPI) take their settings passed through
                return f"KAFKA_SASL_MECHANISM must be set with {protocol}: {', '.join(SASL_MECHANISMS)}"
            if mechanism in SASL_MECHANISMS and not (sec.get("sasl.username") and sec.get("sasl.password")):
                return f"KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD must be set with {protocol} {mechanism}"
        elif "sasl.username" in sec:
            return f"KAFKA_SASL_USERNAME is set but KAFKA_SECURITY_PROTOCOL={protocol} sends no credentials"
        ca = sec.get("ssl.ca.location")
        if ca and not Path(ca).is_file():
            return f"KAFKA_SSL_CA_LOCATION={ca}: no such file"
        return None

    def unsafe(self) -> list[str]:
        """Settings that take away TLS's protection, each as a warning to log at start."""
        said = []
        if self.security.get("enable.ssl.certificate.verification", "").strip().lower() in {"false", "0"}:
            said.append(
                "KAFKA_CONFIG_ENABLE_SSL_CERTIFICATE_VERIFICATION=false: the brokers' certificates are not "
                "checked, so anyone between this service and them can read and change every message"
            )
        if self.security.get("ssl.endpoint.identification.algorithm", "").strip().lower() == "none":
            said.append(
                "KAFKA_CONFIG_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM=none: a certificate is not checked against "
                "the broker's host name, so any certificate the CAs signed is taken"
            )
        return said


class KafkaAccessError(RuntimeError):
    """The brokers refused us: wrong credentials, a certificate not trusted, bad settings
    (a topic they will not make)."""


def check_access(kafka: KafkaConnection, timeout_s: float = 15.0) -> bool:
    """Ask the brokers for metadata with our settings. Raises ``KafkaAccessError`` at the
    first refusal (credentials, TLS): librdkafka would otherwise retry it forever in
    silence. Returns False when nothing answered within ``timeout_s`` (a broker not up
    yet is not an error: the clients wait for it)."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient

    problem = kafka.problem()
    if problem is not None:
        raise KafkaAccessError(problem)
    for warning in kafka.unsafe():
        log.warning("%s", warning)
    refused: list[str] = []

    def on_error(error: KafkaError) -> None:
        if _refusal(error):
            refused.append(error.str())

    try:
        admin = AdminClient(kafka.client(error_cb=on_error))
    except KafkaException as exc:
        raise KafkaAccessError(f"Kafka settings refused by the client: {exc.args[0].str()}") from None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            admin.list_topics(timeout=0.5)
            return True
        except KafkaException as exc:
            if _refusal(exc.args[0]):
                refused.append(exc.args[0].str())
        admin.poll(0)
        if refused:
            raise KafkaAccessError(_refusal_message(kafka, refused[0]))
    return False


@contextmanager
def refusals(who: str = "refusing to start") -> Iterator[None]:
    """A refusal by the brokers inside ends the process, saying ``who`` was refused and why."""
    try:
        yield
    except KafkaAccessError as exc:
        raise SystemExit(f"{who}: {exc}") from None


def require_access(kafka: KafkaConnection, who: str = "refusing to start") -> None:
    """``check_access``, at a process's start: a refusal ends the process saying why."""
    with refusals(who):
        check_access(kafka)


def _refusal(error: Any) -> bool:
    from confluent_kafka import KafkaError

    codes = {KafkaError._AUTHENTICATION, KafkaError._SSL, KafkaError.SASL_AUTHENTICATION_FAILED}
    codes |= {KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED}
    text = error.str().lower()
    return error.code() in codes or (
        error.code() == KafkaError._TRANSPORT and any(h in text for h in ("ssl handshake", "certificate"))
    )


def _refusal_message(kafka: KafkaConnection, detail: str) -> str:
    user = kafka.security.get("sasl.username")
    who = f" as {user!r}" if user else ""
    return f"Kafka at {','.join(kafka.brokers)} refused us{who}: {detail}"


def fetch_wait_for(kafka: KafkaConnection, chosen: int | None, timeout_s: float = 10.0) -> int:
    """``chosen`` (KAFKA_FETCH_WAIT_MS) when set; else the wait that suits the broker,
    told by its cluster id, and logged with the reason."""
    if chosen is not None:
        return chosen
    cluster = cluster_id(kafka, timeout_s)
    holding = HOLDING_BROKERS.get(cluster or "")
    if holding is not None:
        log.info(
            "fetch wait %d ms: the broker (%s, cluster id %s) holds a fetch for its whole wait, even with data;"
            " KAFKA_FETCH_WAIT_MS chooses another",
            SHORT_FETCH_WAIT_MS, holding, cluster,
        )  # fmt: skip
        return SHORT_FETCH_WAIT_MS
    if cluster is None:
        log.info("fetch wait %d ms: no broker told its cluster id within %g s", LONG_FETCH_WAIT_MS, timeout_s)
    else:
        log.info("fetch wait %d ms: the broker answers a fetch when data arrives", LONG_FETCH_WAIT_MS)
    return LONG_FETCH_WAIT_MS


def cluster_id(kafka: KafkaConnection, timeout_s: float = 10.0) -> str | None:
    """The cluster id the brokers report, or None when none answered in time."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    try:
        return AdminClient(kafka.client()).list_topics(timeout=timeout_s).cluster_id
    except KafkaException:
        return None
