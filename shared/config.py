"""Configuration from the environment or a ``.env`` file (12-factor).

The original service's names are kept: ORDER_SERVICE_PORT, MONGO_URI, JWT_SEC,
KAFKA_URI. Everything else has a sensible default.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from shared.domain.policy import Policy
from shared.kafka_config import KafkaConnection, security_from_env
from shared.rates import Rate, parse_rate
from shared.topics import Topics

DEFAULT_DATABASE = "order-service"


USER_RATE = Rate(10, 20)  # mutations per user
ADMIN_RATE = Rate(100, 200)  # per admin (support staff, trusted services)
ANONYMOUS_RATE = Rate(5, 10)  # per client address, requests without a valid token


@dataclass(frozen=True)
class Settings:
    kafka_uri: str | None = None
    kafka_security: Mapping[str, str] = field(default_factory=dict)  # librdkafka settings (docs: Kafka security)
    mongo_uri: str | None = None
    host: str = "127.0.0.1"  # the API's listen address (0.0.0.0 in a container)
    port: int = 8080
    jwt_secret: str | None = None
    topics: Topics = field(default_factory=Topics)
    partitions: int = 4
    replication_factor: int = 1  # of topics the service creates; 3 on a cluster of three brokers or more
    payment_service_url: str | None = None
    payment_fetch_timeout: float = 2.0
    state_idle_seconds: float = 60.0
    refund_window_days: float | None = None  # refunds later than this after the order are rejected
    batch_size: int = 1000
    fetch_wait_ms: int = 500  # Apache Kafka answers a fetch when data arrives: a long wait costs no latency
    idle_poll_ms: float = 2.0  # how soon an empty input partition is polled again
    idle_poll_most_ms: float = 32.0  # ... doubling after each empty poll, up to this
    data_dir: Path = Path(".data")
    recovery_dir: Path | None = None
    flow_metrics_host: str = "127.0.0.1"
    flow_metrics_port: int | None = None  # each dataflow process's /metrics and /live; none when unset
    flow_liveness_s: float = 60.0  # no epoch closed, nothing stored this long: /live says stalled
    # The API's defences (docs/configuration.md, "Abuse resistance").
    allowed_origins: frozenset[str] = frozenset()  # other sites whose pages may send cookie-authenticated mutations
    rate_limit_mutations: Rate | None = USER_RATE
    rate_limit_admin: Rate | None = ADMIN_RATE
    rate_limit_anonymous: Rate | None = ANONYMOUS_RATE
    rate_limit_processes: int = 1  # API processes sharing the limits: each enforces its share
    idempotency_keys_per_day: int = 1_000  # new Idempotency-Keys one user may make in a (UTC) day
    # Deadlines and bounds (docs/http-api.md, "Deadlines").
    kafka_message_timeout_ms: int = 120_000  # a message not delivered in this long fails (the flow then restarts)
    fault_after_store: str | None = None  # fault tests only: "kill:PATH" or "pause:PATH" (store_then_publish)
    mongo_timeout_ms: int = 5_000  # the API's longest wait for one database operation
    api_max_in_flight: int = 1_000  # requests one API process works on at once; more are 503
    log_format: str = "text"  # or "json": one object a line (shared/logs.py)
    log_level: str = "INFO"

    @property
    def brokers(self) -> list[str]:
        return [b.strip() for b in (self.kafka_uri or "").split(",") if b.strip()]

    @property
    def policy(self) -> Policy:
        """The shop's rules, as the core takes them."""
        days = self.refund_window_days
        return Policy(refund_window=None if days is None else timedelta(days=days))

    @property
    def kafka(self) -> KafkaConnection:
        return KafkaConnection(tuple(self.brokers), self.kafka_security)


def _origins(value: str) -> frozenset[str]:
    return frozenset(o.strip().rstrip("/") for o in value.split(",") if o.strip())


def _at_least_one(value: str) -> int:
    return max(1, int(value))


# Each setting read from the environment: (field, variable, parse). A variable unset or
# empty leaves the field's default, written once, on ``Settings`` above.
SETTINGS_READ: tuple[tuple[str, str, Callable[[str], Any]], ...] = (
    ("kafka_uri", "KAFKA_URI", str),
    ("mongo_uri", "MONGO_URI", str),
    ("host", "ORDER_SERVICE_HOST", str),
    ("port", "ORDER_SERVICE_PORT", int),
    ("jwt_secret", "JWT_SEC", str),
    ("partitions", "TOPIC_PARTITIONS", int),
    ("replication_factor", "TOPIC_REPLICATION_FACTOR", int),
    ("payment_service_url", "PAYMENT_SERVICE_URL", str),
    ("payment_fetch_timeout", "PAYMENT_FETCH_TIMEOUT", float),
    ("state_idle_seconds", "ORDER_STATE_IDLE_SECONDS", float),
    ("refund_window_days", "REFUND_WINDOW_DAYS", float),
    ("batch_size", "KAFKA_BATCH_SIZE", int),
    ("fetch_wait_ms", "KAFKA_FETCH_WAIT_MS", int),
    ("idle_poll_ms", "KAFKA_IDLE_POLL_MS", float),
    ("idle_poll_most_ms", "KAFKA_IDLE_POLL_MAX_MS", float),
    ("data_dir", "ORDER_DATA_DIR", Path),
    ("recovery_dir", "RECOVERY_DIR", Path),
    ("flow_metrics_host", "FLOW_METRICS_HOST", str),
    ("flow_metrics_port", "FLOW_METRICS_PORT", int),
    ("flow_liveness_s", "FLOW_LIVENESS_S", float),
    ("allowed_origins", "ALLOWED_ORIGINS", _origins),
    ("rate_limit_mutations", "RATE_LIMIT_MUTATIONS", parse_rate),
    ("rate_limit_admin", "RATE_LIMIT_MUTATIONS_ADMIN", parse_rate),
    ("rate_limit_anonymous", "RATE_LIMIT_ANONYMOUS", parse_rate),
    ("rate_limit_processes", "RATE_LIMIT_PROCESSES", _at_least_one),
    ("idempotency_keys_per_day", "IDEMPOTENCY_KEYS_PER_DAY", int),
    ("kafka_message_timeout_ms", "KAFKA_MESSAGE_TIMEOUT_MS", int),
    ("fault_after_store", "FAULT_AFTER_STORE", str),
    ("mongo_timeout_ms", "MONGO_TIMEOUT_MS", int),
    ("api_max_in_flight", "API_MAX_IN_FLIGHT", _at_least_one),
    ("log_format", "LOG_FORMAT", str.lower),
    ("log_level", "LOG_LEVEL", str.upper),
)


def load_settings(env: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
    values = dict(_read_dotenv(dotenv)) if dotenv else {}
    values.update(os.environ if env is None else env)
    get = values.get
    topics = Topics.configured(
        get,
        extra_payments=tuple(t.strip() for t in get("PAYMENT_TOPICS_EXTRA", "").split(",") if t.strip()),
        compat=get("COMPAT_TOPICS", "true").lower() not in {"0", "false", "no", "off"},
    )
    read = {name: parse(values[variable]) for name, variable, parse in SETTINGS_READ if values.get(variable)}
    return Settings(kafka_security=security_from_env(values), topics=topics, **read)


MIN_JWT_SECRET_BYTES = 32
# Secrets that were ever written in this repository's docs, examples or compose file:
# anyone can read them, so a service signing with one accepts anyone's tokens.
PUBLISHED_JWT_SECRETS = frozenset({"change-me", "change-me-to-a-long-random-secret", "secret", "jwt-secret"})


def jwt_secret_problem(secret: str | None) -> str | None:
    """Why ``secret`` must not sign tokens, or None when it may."""
    if not secret:
        return "JWT_SEC is not set (make one: openssl rand -hex 32)"
    if secret in PUBLISHED_JWT_SECRETS:
        return "JWT_SEC is a value published in this project's docs or compose file (make one: openssl rand -hex 32)"
    if len(secret.encode()) < MIN_JWT_SECRET_BYTES:
        return f"JWT_SEC is shorter than {MIN_JWT_SECRET_BYTES} bytes (make one: openssl rand -hex 32)"
    return None


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def database_name(mongo_uri: str) -> str:
    """The database named in the URI's path, else the default."""
    rest = mongo_uri.split("://", 1)[-1]
    path = rest.split("/", 1)[1] if "/" in rest else ""
    name = path.split("?", 1)[0]
    return name or DEFAULT_DATABASE
