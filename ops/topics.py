"""Create the service's topics when missing.

python -m ops.topics [--partitions N]     # uses KAFKA_URI and the TOPIC_* settings
"""

from __future__ import annotations

import argparse

from dataflows.setup import ensure_topics, log_configs
from shared.config import load_settings
from shared.kafka_config import require_access
from shared.topics import names


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Create the order service's Kafka topics when missing.")
    parser.add_argument("--partitions", type=int, help="partitions per new topic (default: TOPIC_PARTITIONS or 4)")
    args = parser.parse_args(argv)
    settings = load_settings()
    if not settings.brokers:
        parser.error("KAFKA_URI is not set")
    topics = settings.topics
    require_access(settings.kafka, "ops.topics")
    created = ensure_topics(
        settings.kafka, names(topics.all), args.partitions or settings.partitions, configs=log_configs(topics)
    )
    print(f"created {len(created)} topics: {', '.join(created) or '-'}")


if __name__ == "__main__":
    main()
