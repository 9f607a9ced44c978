"""Configuration from the environment or a ``.env`` file (12-factor).

The original service's names are kept: ORDER_SERVICE_PORT, MONGO_URI, JWT_SEC,
KAFKA_URI. Everything else has a sensible default.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path
from typing import Any

from shared import tracing
from shared.domain.policy import Policy
from shared.kafka_config import KafkaConnection, security_from_env, without_secrets
from shared.rates import Rate, parse_rate
from shared.schemas.request_kinds import request_topics
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
    fetch_wait_ms: int | None = None  # unset: chosen by the broker (shared.kafka_config.fetch_wait_for)
    idle_poll_ms: float = 2.0  # how soon an empty input partition is polled again
    idle_poll_most_ms: float = 32.0  # ... doubling after each empty poll, up to this
    kafka_group_id: str = "order-flow"  # the flow commits its offsets here for lag monitoring only
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
    api_body_timeout_s: float = 10.0  # a request body must arrive within this; else 408
    api_metrics_port: int | None = None  # serve the API's /metrics here only (not on the API's port)
    log_format: str = "text"  # or "json": one object a line (shared/logs.py)
    log_level: str = "INFO"

    def __repr__(self) -> str:
        """Every field, secrets starred: the JWT secret, a password in MONGO_URI, Kafka's."""
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        shown.update(
            jwt_secret=self.jwt_secret and "***",
            mongo_uri=self.mongo_uri and uri_without_password(self.mongo_uri),
            kafka_security=without_secrets(self.kafka_security),
        )
        return f"Settings({', '.join(f'{name}={value!r}' for name, value in shown.items())})"

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


class BadSetting(ValueError):
    """A setting's value that cannot be used: says which variable, its value and what is expected."""

    def __init__(self, variable: str, value: str, expected: str):
        super().__init__(f"{variable}={_shown(value)}: expected {expected}")
        self.variable = variable


def _shown(value: str) -> str:
    """A value as a message may show it: a URI's password starred, at most 200 characters."""
    return repr(uri_without_password(value)[:200])


def uri_without_password(uri: str) -> str:
    """``mongodb://user:secret@host`` as ``mongodb://user:***@host``."""
    return re.sub(r"(://[^:/@\s]*:)[^@/\s]*@", r"\1***@", uri)


Parse = Callable[[str], Any]


def _integer(lowest: int, highest: int | None = None) -> Parse:
    expected = f"an integer from {lowest} to {highest}" if highest is not None else f"an integer of at least {lowest}"

    def parse(value: str) -> int:
        text = value.strip()
        if not re.fullmatch(r"[+-]?[0-9]{1,18}", text):
            raise ValueError(expected)
        number = int(text)
        if number < lowest or (highest is not None and number > highest):
            raise ValueError(expected)
        return number

    return parse


def _number(lowest: float, highest: float, above: bool = False) -> Parse:
    """A finite decimal from ``lowest`` (excluded when ``above``) to ``highest``."""
    span = f"above {lowest:g} up to {highest:g}" if above else f"from {lowest:g} to {highest:g}"
    expected = f"a number {span}"

    def parse(value: str) -> float:
        try:
            number = float(value) if value.strip().isascii() else math.nan
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or number < lowest or number > highest or (above and number == lowest):
            raise ValueError(expected)
        return number

    return parse


def _one_of(*choices: str, case: Callable[[str], str] = str.lower) -> Parse:
    def parse(value: str) -> str:
        chosen = case(value.strip())
        if chosen not in choices:
            raise ValueError(f"one of {', '.join(choices)}")
        return chosen

    return parse


def _url(*schemes: str) -> Parse:
    def parse(value: str) -> str:
        if not re.match(rf"^(?:{'|'.join(map(re.escape, schemes))})://[^\s/]+", value.strip()):
            raise ValueError(f"a URL starting {' or '.join(s + '://' for s in schemes)}")
        return value.strip()

    return parse


def _text(value: str) -> str:
    return value


def _group_id(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,249}", value):
        raise ValueError("1 to 249 of the characters A-Z a-z 0-9 . _ -")
    return value


def _path(value: str) -> Path:
    if "\0" in value:
        raise ValueError("a file system path")
    return Path(value)


def _brokers(value: str) -> str:
    host = r"(?:\[[0-9A-Fa-f:.]+\]|[^\s:/,\[\]]+)"
    brokers = [b.strip() for b in value.split(",") if b.strip()]
    if not brokers or not all(re.fullmatch(rf"(?:[A-Za-z_]+://)?{host}(?::[0-9]{{1,5}})?", b) for b in brokers):
        raise ValueError("bootstrap servers as host:port, comma-separated")
    return value


def _origins(value: str) -> frozenset[str]:
    origins = frozenset(o.strip().rstrip("/") for o in value.split(",") if o.strip())
    if not all(re.fullmatch(r"https?://[^\s/]+", o) for o in origins):
        raise ValueError("origins like https://shop.example, comma-separated")
    return origins


def _rate(value: str) -> Rate | None:
    try:
        return parse_rate(value)
    except ValueError:
        raise ValueError("a rate like '10/s burst 20', '600/min', or 'off'") from None


def _fault(value: str) -> str:
    if not re.fullmatch(r"(?:kill|pause):.+", value):
        raise ValueError("kill:PATH or pause:PATH")
    return value


def _flag(value: str) -> bool:
    chosen = value.strip().lower()
    if chosen not in TRUE | FALSE:
        raise ValueError(f"one of {', '.join(sorted(TRUE | FALSE))}")
    return chosen in TRUE


TRUE, FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})
PORT = _integer(1, 65_535)
MS = 3_600_000  # an hour, in milliseconds: the longest any wait or timeout may be set to

# Each setting read from the environment: (field, variable, parse). A variable unset or
# empty leaves the field's default, written once, on ``Settings`` above. A value ``parse``
# refuses stops the process at start, naming the variable, the value and what it expects.
SETTINGS_READ: tuple[tuple[str, str, Parse], ...] = (
    ("kafka_uri", "KAFKA_URI", _brokers),
    ("mongo_uri", "MONGO_URI", _url("mongodb", "mongodb+srv")),
    ("host", "ORDER_SERVICE_HOST", _text),
    ("port", "ORDER_SERVICE_PORT", PORT),
    ("jwt_secret", "JWT_SEC", _text),
    ("partitions", "TOPIC_PARTITIONS", _integer(1, 10_000)),
    ("replication_factor", "TOPIC_REPLICATION_FACTOR", _integer(1, 100)),
    ("payment_service_url", "PAYMENT_SERVICE_URL", _url("http", "https")),
    ("payment_fetch_timeout", "PAYMENT_FETCH_TIMEOUT", _number(0, 300, above=True)),
    ("state_idle_seconds", "ORDER_STATE_IDLE_SECONDS", _number(0, 86_400 * 365, above=True)),
    ("refund_window_days", "REFUND_WINDOW_DAYS", _number(0, 36_500)),
    ("batch_size", "KAFKA_BATCH_SIZE", _integer(1, 1_000_000)),
    ("fetch_wait_ms", "KAFKA_FETCH_WAIT_MS", _integer(0, 60_000)),
    ("idle_poll_ms", "KAFKA_IDLE_POLL_MS", _number(0, 60_000)),
    ("idle_poll_most_ms", "KAFKA_IDLE_POLL_MAX_MS", _number(0, 60_000)),
    ("kafka_group_id", "KAFKA_GROUP_ID", _group_id),
    ("data_dir", "ORDER_DATA_DIR", _path),
    ("recovery_dir", "RECOVERY_DIR", _path),
    ("flow_metrics_host", "FLOW_METRICS_HOST", _text),
    ("flow_metrics_port", "FLOW_METRICS_PORT", PORT),
    ("flow_liveness_s", "FLOW_LIVENESS_S", _number(0, 86_400, above=True)),
    ("allowed_origins", "ALLOWED_ORIGINS", _origins),
    ("rate_limit_mutations", "RATE_LIMIT_MUTATIONS", _rate),
    ("rate_limit_admin", "RATE_LIMIT_MUTATIONS_ADMIN", _rate),
    ("rate_limit_anonymous", "RATE_LIMIT_ANONYMOUS", _rate),
    ("rate_limit_processes", "RATE_LIMIT_PROCESSES", _integer(1, 10_000)),
    ("idempotency_keys_per_day", "IDEMPOTENCY_KEYS_PER_DAY", _integer(1)),
    ("kafka_message_timeout_ms", "KAFKA_MESSAGE_TIMEOUT_MS", _integer(1, 2_147_483_647)),
    ("fault_after_store", "FAULT_AFTER_STORE", _fault),
    ("mongo_timeout_ms", "MONGO_TIMEOUT_MS", _integer(1, MS)),
    ("api_max_in_flight", "API_MAX_IN_FLIGHT", _integer(1, 1_000_000)),
    ("api_body_timeout_s", "API_BODY_TIMEOUT_S", _number(0, 3_600, above=True)),
    ("api_metrics_port", "API_METRICS_PORT", PORT),
    ("log_format", "LOG_FORMAT", _one_of("text", "json")),
    ("log_level", "LOG_LEVEL", _one_of("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", case=str.upper)),
)
# Read beside the table: the topics' names (TOPIC_<ROLE>, PAYMENT_TOPICS_EXTRA) and COMPAT_TOPICS.
COMPAT_TOPICS = "COMPAT_TOPICS"


def _read(variable: str, raw: str, parse: Parse) -> Any:
    try:
        return parse(raw)
    except ValueError as exc:
        raise BadSetting(variable, raw, str(exc)) from None


def load_settings(env: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
    values = dict(_read_dotenv(dotenv)) if dotenv else {}
    values.update(os.environ if env is None else env)
    get = values.get
    topics = Topics.configured(
        get,
        extra_payments=tuple(t.strip() for t in get("PAYMENT_TOPICS_EXTRA", "").split(",") if t.strip()),
        compat=_read(COMPAT_TOPICS, get(COMPAT_TOPICS) or "true", _flag),
        request_topics=request_topics(),
    )
    read = {
        name: _read(variable, values[variable], parse)
        for name, variable, parse in SETTINGS_READ
        if values.get(variable)
    }
    return Settings(kafka_security=security_from_env(values), topics=topics, **read)


def settings_or_exit(env: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
    """``load_settings`` at a process's start: a bad value ends it with exit code 2 and
    one line on stderr naming the variable, the value and what is expected."""
    try:
        settings = load_settings(env, dotenv)
    except BadSetting as exc:
        print(f"refusing to start: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    traces = tracing.problem(os.environ if env is None else env)
    if traces is not None:
        print(f"refusing to start: {traces}", file=sys.stderr, flush=True)
        raise SystemExit(2)
    return settings


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
