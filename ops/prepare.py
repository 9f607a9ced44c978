"""Make the servers ready for the service: its topics and the orders' indexes.

Idempotent, so the launcher, every dataflow process and the test sandbox all call it.
"""

from __future__ import annotations

from dataflows.mongo_io import ensure_indexes, orders_collection
from ops.topics import ensure_topics, log_configs
from shared.config import Settings
from shared.topics import Topics


def prepare(settings: Settings) -> list[str]:
    """Create missing topics and indexes; returns the topics created."""
    if not settings.brokers or not settings.mongo_uri:
        raise ValueError("KAFKA_URI and MONGO_URI must be set")
    topics = Topics.from_settings(settings)
    created = ensure_topics(settings.brokers, topics.all, settings.partitions, configs=log_configs(topics))
    ensure_indexes(orders_collection(settings.mongo_uri))
    return created
