"""Create the service's topics when missing.

python -m ops.topics [--partitions N]     # uses KAFKA_URI and the TOPIC_* settings
"""

from __future__ import annotations

import argparse

from dataflows.setup import ensure_service_topics
from shared.config import settings_or_exit
from shared.kafka_config import check_access, refusals


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Create the order service's Kafka topics when missing.")
    parser.add_argument("--partitions", type=int, help="partitions per new topic (default: TOPIC_PARTITIONS or 4)")
    args = parser.parse_args(argv)
    settings = settings_or_exit()
    if not settings.brokers:
        parser.error("KAFKA_URI is not set")
    with refusals("ops.topics"):
        check_access(settings.kafka)
        created = ensure_service_topics(settings, args.partitions)
    print(f"created {len(created)} topics: {', '.join(created) or '-'}")


if __name__ == "__main__":
    main()
