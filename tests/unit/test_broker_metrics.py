"""The broker's own counts (Jolokia's bulk answer) become requests and bytes per 1,000 refunds."""

from __future__ import annotations

from collections import Counter

from bench.broker_metrics import others, parse, per_thousand


def _answer(requests: dict[tuple[str, int], int], bytes_in: int, bytes_out: int, messages: int) -> list[dict]:
    mbeans = {
        f"kafka.network:type=RequestMetrics,name=RequestsPerSec,request={name},version={version}": {"Count": n}
        for (name, version), n in requests.items()
    }
    return [{"value": mbeans}, {"value": bytes_in}, {"value": bytes_out}, {"value": messages}]


def test_request_counts_are_summed_over_api_versions():
    counts = parse(_answer({("Produce", 9): 3, ("Produce", 11): 4}, 0, 0, 0))
    assert counts["Produce"] == 7, counts


def test_the_topic_totals_are_read_by_their_labels():
    counts = parse(_answer({}, 100, 200, 5))
    assert (counts["bytes in"], counts["bytes out"], counts["messages in"]) == (100, 200, 5), counts


def test_work_per_thousand_refunds_is_the_difference_of_two_snapshots_scaled():
    before = Counter({"Produce": 10, "Fetch": 5, "bytes in": 1000})
    after = Counter({"Produce": 30, "Fetch": 25, "bytes in": 3000})
    work = per_thousand(before, after, refunds=10)
    assert (work["produce requests"], work["fetch requests"], work["bytes in"]) == (2000, 2000, 200_000), work


def test_consumer_fetches_are_not_counted_twice_among_other_requests():
    before = Counter()
    after = Counter({"Fetch": 8, "FetchConsumer": 8, "BrokerHeartbeat": 2})
    assert per_thousand(before, after, refunds=1000)["other requests"] == 2
    assert others(before, after) == {"BrokerHeartbeat": 2}
