"""Configuration from the environment or a ``.env`` file (12-factor).

Each setting is declared once, on ``Settings``: its variable, how its value is parsed
(with its bounds), its default and one line on what it does, under its section (Kafka,
Mongo, Flow, API, Limits). docs/configuration.md is checked against the declaration.
The original service's names are kept: ORDER_SERVICE_PORT, MONGO_URI, JWT_SEC,
KAFKA_URI. Everything else has a sensible default.

Our own declaration rather than pydantic-settings: a dataclass field's metadata holds
all of it, and pydantic (a compiled core) would join the image for that alone.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from enum import StrEnum
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


def _flag(value: str) -> bool:
    chosen = value.strip().lower()
    if chosen not in TRUE | FALSE:
        raise ValueError(f"one of {', '.join(sorted(TRUE | FALSE))}")
    return chosen in TRUE


TRUE, FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})
PORT = _integer(1, 65_535)
MS = 3_600_000  # an hour, in milliseconds: the longest any wait or timeout may be set to


def _names(value: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in value.split(",") if name.strip())


class Section(StrEnum):
    """Where a setting belongs (docs/configuration.md has a table for each)."""

    KAFKA = "Kafka"
    MONGO = "Mongo"
    FLOW = "Flow"
    API = "API"
    LIMITS = "Limits"


@dataclass(frozen=True)
class Declared:
    section: Section
    variable: str
    parse: Parse
    doc: str


def setting(section: Section, variable: str, parse: Parse, default: Any, doc: str) -> Any:
    """A field of ``Settings`` read from ``variable``: unset or empty, ``default``; a value
    ``parse`` refuses stops the process at start, naming the variable, the value and what
    ``parse`` expects."""
    return field(default=default, metadata={"declared": Declared(section, variable, parse, doc)})


KAFKA, MONGO, FLOW, API, LIMITS = Section.KAFKA, Section.MONGO, Section.FLOW, Section.API, Section.LIMITS


@dataclass(frozen=True)
class Settings:
    # Kafka
    kafka_uri: str | None = setting(KAFKA, "KAFKA_URI", _brokers, None, "bootstrap servers, comma-separated")
    partitions: int = setting(
        KAFKA, "TOPIC_PARTITIONS", _integer(1, 10_000), 4, "partitions of topics created at start"
    )
    replication_factor: int = setting(
        KAFKA, "TOPIC_REPLICATION_FACTOR", _integer(1, 100), 1, "replicas of topics created at start; 3 on 3+ brokers"
    )
    compat_topics: bool = setting(KAFKA, "COMPAT_TOPICS", _flag, True, "also emit the original service's topics")
    extra_payment_topics: tuple[str, ...] = setting(
        KAFKA, "PAYMENT_TOPICS_EXTRA", _names, (), "more topics whose messages are payments, comma-separated"
    )
    batch_size: int = setting(
        KAFKA, "KAFKA_BATCH_SIZE", _integer(1, 1_000_000), 1000, "messages per partition per poll"
    )
    fetch_wait_ms: int | None = setting(
        KAFKA,
        "KAFKA_FETCH_WAIT_MS",
        _integer(0, 60_000),
        None,
        "unset: chosen by the broker (kafka_config.fetch_wait_for)",
    )
    idle_poll_ms: float = setting(
        KAFKA, "KAFKA_IDLE_POLL_MS", _number(0, 60_000), 2.0, "how soon an empty input partition is polled again"
    )
    idle_poll_most_ms: float = setting(
        KAFKA, "KAFKA_IDLE_POLL_MAX_MS", _number(0, 60_000), 32.0, "... doubling after each empty poll, up to this"
    )
    kafka_group_id: str = setting(
        KAFKA, "KAFKA_GROUP_ID", _group_id, "order-flow", "the flow commits its offsets here, for lag monitoring only"
    )
    kafka_message_timeout_ms: int = setting(
        KAFKA,
        "KAFKA_MESSAGE_TIMEOUT_MS",
        _integer(1, 2_147_483_647),
        120_000,
        "a message not delivered in this long fails (the flow then restarts)",
    )
    # Mongo
    mongo_uri: str | None = setting(
        MONGO, "MONGO_URI", _url("mongodb", "mongodb+srv"), None, "the database from its path, default order-service"
    )
    mongo_timeout_ms: int = setting(
        MONGO, "MONGO_TIMEOUT_MS", _integer(1, MS), 5_000, "the API's longest wait for one database operation"
    )
    # Flow
    payment_service_url: str | None = setting(
        FLOW, "PAYMENT_SERVICE_URL", _url("http", "https"), None, "completes payments that carry only a paymentId"
    )
    payment_fetch_timeout: float = setting(
        FLOW, "PAYMENT_FETCH_TIMEOUT", _number(0, 300, above=True), 2.0, "seconds per payment-service call"
    )
    state_idle_seconds: float = setting(
        FLOW,
        "ORDER_STATE_IDLE_SECONDS",
        _number(0, 86_400 * 365, above=True),
        60.0,
        "an order idle this long leaves the flow's memory",
    )
    refund_window_days: float | None = setting(
        FLOW, "REFUND_WINDOW_DAYS", _number(0, 36_500), None, "refunds later than this after the order are rejected"
    )
    data_dir: Path = setting(FLOW, "ORDER_DATA_DIR", _path, Path(".data"), "embedded servers' data, logs, recovery")
    recovery_dir: Path | None = setting(FLOW, "RECOVERY_DIR", _path, None, "the recovery store make run uses")
    flow_metrics_host: str = setting(FLOW, "FLOW_METRICS_HOST", _text, "127.0.0.1", "where flow metrics listen")
    flow_metrics_port: int | None = setting(
        FLOW, "FLOW_METRICS_PORT", PORT, None, "each flow process's /metrics and /live (process i: this + i)"
    )
    flow_liveness_s: float = setting(
        FLOW, "FLOW_LIVENESS_S", _number(0, 86_400, above=True), 60.0, "no epoch closed this long: /live says stalled"
    )
    # API
    host: str = setting(API, "ORDER_SERVICE_HOST", _text, "127.0.0.1", "the API's listen address")
    port: int = setting(API, "ORDER_SERVICE_PORT", PORT, 8080, "the API's port")
    jwt_secret: str | None = setting(API, "JWT_SEC", _text, None, "the API's JWT secret (jwt_secret_problem)")
    api_metrics_port: int | None = setting(
        API, "API_METRICS_PORT", PORT, None, "serve the API's /metrics here only (not on its port)"
    )
    allowed_origins: frozenset[str] = setting(
        API, "ALLOWED_ORIGINS", _origins, frozenset(), "sites whose pages may send cookie-authenticated mutations"
    )
    log_format: str = setting(API, "LOG_FORMAT", _one_of("text", "json"), "text", "json: one object a line")
    log_level: str = setting(
        API, "LOG_LEVEL", _one_of("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", case=str.upper), "INFO", "log level"
    )
    # Limits
    rate_limit_mutations: Rate | None = setting(LIMITS, "RATE_LIMIT_MUTATIONS", _rate, USER_RATE, "mutations per user")
    rate_limit_admin: Rate | None = setting(LIMITS, "RATE_LIMIT_MUTATIONS_ADMIN", _rate, ADMIN_RATE, "per admin")
    rate_limit_anonymous: Rate | None = setting(
        LIMITS, "RATE_LIMIT_ANONYMOUS", _rate, ANONYMOUS_RATE, "per client address, requests without a valid token"
    )
    rate_limit_processes: int = setting(
        LIMITS,
        "RATE_LIMIT_PROCESSES",
        _integer(1, 10_000),
        1,
        "API processes sharing the limits: each enforces its share",
    )
    idempotency_keys_per_day: int = setting(
        LIMITS, "IDEMPOTENCY_KEYS_PER_DAY", _integer(1), 1_000, "new Idempotency-Keys one user may make in a UTC day"
    )
    api_max_in_flight: int = setting(
        LIMITS, "API_MAX_IN_FLIGHT", _integer(1, 1_000_000), 1_000, "requests one API process works on at once"
    )
    api_body_timeout_s: float = setting(
        LIMITS, "API_BODY_TIMEOUT_S", _number(0, 3_600, above=True), 10.0, "a request body must arrive within this"
    )
    # Made from the declared ones (and TOPIC_<ROLE>, KAFKA_SECURITY_* and KAFKA_CONFIG_*) when loaded.
    kafka_security: Mapping[str, str] = field(default_factory=dict)  # librdkafka settings (docs: Kafka security)
    topics: Topics = field(default_factory=Topics)

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


def declared() -> list[tuple[str, Declared]]:
    """Every setting read from its own variable: (field, declaration), section by section."""
    return [(f.name, f.metadata["declared"]) for f in fields(Settings) if "declared" in f.metadata]


def _read(variable: str, raw: str, parse: Parse) -> Any:
    try:
        return parse(raw)
    except ValueError as exc:
        raise BadSetting(variable, raw, str(exc)) from None


def load_settings(env: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
    values = dict(_read_dotenv(dotenv)) if dotenv else {}
    values.update(os.environ if env is None else env)
    read = {
        name: _read(setting.variable, values[setting.variable], setting.parse)
        for name, setting in declared()
        if values.get(setting.variable)
    }
    settings = Settings(kafka_security=security_from_env(values), **read)
    topics = Topics.configured(values.get, settings.extra_payment_topics, settings.compat_topics, request_topics())
    return replace(settings, topics=topics)


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
