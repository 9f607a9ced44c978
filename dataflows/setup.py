"""Make the servers ready for the service: its topics (the order log kept forever)
and the indexes of the orders and their records.

Idempotent, so the launcher, every dataflow process and the test sandbox all call
``prepare``; ``python -m ops.topics`` makes the topics alone.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from dataflows.mongo_io import ensure_indexes, orders_collection
from shared.config import Settings
from shared.kafka_config import KafkaAccessError, KafkaConnection, check_access
from shared.topics import Topics, names


def prepare(settings: Settings) -> list[str]:
    """Create missing topics and indexes; returns the topics created. Raises
    ``KafkaAccessError`` when the brokers refuse our credentials or certificates."""
    if not settings.brokers or not settings.mongo_uri:
        raise ValueError("KAFKA_URI and MONGO_URI must be set")
    check_access(settings.kafka)
    created = ensure_service_topics(settings)
    ensure_indexes(orders_collection(settings.mongo_uri))
    return created


# The log that ops.rebuild and ops.reconcile read back: kept for as long as the orders live.
KEEP_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1"}


def ensure_service_topics(settings: Settings, partitions: int | None = None) -> list[str]:
    """Every topic of the registry, made when missing with the settings' partitions
    (or ``partitions``), replication factor and log configs; returns those made."""
    topics = settings.topics
    return ensure_topics(
        settings.kafka, names(topics.all), partitions or settings.partitions, configs=log_configs(topics),
        replication_factor=settings.replication_factor,
    )  # fmt: skip


def ensure_topics(
    kafka: KafkaConnection,
    names: Sequence[str],
    partitions: int,
    timeout: float = 60,
    configs: dict[str, dict[str, str]] | None = None,
    replication_factor: int = 1,
) -> list[str]:
    """Create the missing ones (with ``configs[name]``, if any); returns what was
    created. Waits until all are visible. Existing topics are left as they are.
    ``KafkaAccessError`` when the brokers refuse one (a replication factor above
    their number, a setting they do not allow)."""
    admin = AdminClient(kafka.client())
    existing = set(admin.list_topics(timeout=timeout).topics)
    missing = [n for n in dict.fromkeys(names) if n not in existing]
    configs = configs or {}
    if missing:
        futures = admin.create_topics(
            [
                NewTopic(n, num_partitions=partitions, replication_factor=replication_factor, config=configs.get(n, {}))
                for n in missing
            ]
        )
        for name, future in futures.items():
            try:
                future.result(timeout=timeout)
            except KafkaException as exc:
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    shape = f"{partitions} partitions, replication factor {replication_factor}"
                    raise KafkaAccessError(f"topic {name} not made ({shape}): {exc.args[0].str()}") from None
    _wait_visible(admin, names, timeout)
    return missing


def _wait_visible(admin: AdminClient, names: Sequence[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        meta = admin.list_topics(timeout=timeout).topics
        if all(n in meta and meta[n].partitions and meta[n].error is None for n in names):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics not visible after {timeout}s")
        time.sleep(0.2)


def log_configs(topics: Topics) -> dict[str, dict[str, str]]:
    return {topics.order_events.name: KEEP_FOREVER, topics.quantity_update.name: KEEP_FOREVER}
