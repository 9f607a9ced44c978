"""The Apache Kafka broker's own count of its work, read from its JMX metrics through the
Jolokia agent it runs with (``devkit.servers.ApacheKafka(metrics=True)``).

``snapshot`` reads the request counts by type (``kafka.network:type=RequestMetrics,
name=RequestsPerSec``, summed over API versions) and the bytes and messages in and out
(``kafka.server:type=BrokerTopicMetrics``) in one HTTP call; the difference of two is
what the broker did between them."""

from __future__ import annotations

import json
import urllib.request
from collections import Counter

REQUESTS = "kafka.network:type=RequestMetrics,name=RequestsPerSec,*"
TOPIC_METRICS = {"bytes in": "BytesInPerSec", "bytes out": "BytesOutPerSec", "messages in": "MessagesInPerSec"}
# The rows of the report, by the request types the broker names (and the topic totals).
REPORTED = {
    "produce requests": ("Produce",),
    "fetch requests": ("Fetch",),
    "offset commits": ("OffsetCommit",),
    "metadata requests": ("Metadata",),
    "other requests": (),  # every request type not named above
    "bytes in": ("bytes in",),
    "bytes out": ("bytes out",),
    "messages in": ("messages in",),
}
# Counted again under Fetch: the broker keeps consumers' and followers' fetches apart as well.
SUBSETS = frozenset({"FetchConsumer", "FetchFollower"})
NAMED = frozenset(name for names in REPORTED.values() for name in names) | SUBSETS  # the rest: other requests


def _queries() -> list[dict[str, str]]:
    topics = [f"kafka.server:type=BrokerTopicMetrics,name={name}" for name in TOPIC_METRICS.values()]
    return [{"type": "read", "mbean": mbean, "attribute": "Count"} for mbean in (REQUESTS, *topics)]


def parse(answers: list[dict]) -> Counter[str]:
    """Jolokia's bulk answer as counts: request types by name, and the topic totals."""
    counts: Counter[str] = Counter()
    requests, *topics = answers
    for mbean, value in requests.get("value", {}).items():
        request = dict(part.split("=", 1) for part in mbean.split(":", 1)[1].split(","))["request"]
        counts[request] += int(value["Count"])
    for label, answer in zip(TOPIC_METRICS, topics, strict=True):
        counts[label] = int(answer.get("value", 0))
    return counts


def snapshot(url: str) -> Counter[str]:
    request = urllib.request.Request(url, json.dumps(_queries()).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return parse(json.load(answer))


def per_thousand(before: Counter[str], after: Counter[str], refunds: int) -> dict[str, float]:
    """The rows of ``REPORTED`` per 1,000 refunds, from two snapshots around them."""
    spent = after - before
    rows = {row: sum(spent[name] for name in names) for row, names in REPORTED.items()}
    rows["other requests"] = sum(others(before, after).values())
    return {row: n / refunds * 1000 for row, n in rows.items()}


def others(before: Counter[str], after: Counter[str]) -> dict[str, int]:
    """The request types counted in "other requests", with their counts."""
    return {name: n for name, n in (after - before).items() if name not in NAMED}
