"""The token bucket's arithmetic, on a clock the test moves."""

from __future__ import annotations

import pytest

from http_api.rate_limits import CreditBuckets, retry_after
from shared.rates import Rate, parse_rate


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


TEN_A_SECOND = Rate(10, 20)


def buckets(rate: Rate = TEN_A_SECOND, max_tracked: int = 100) -> tuple[CreditBuckets, Clock]:
    clock = Clock()
    return CreditBuckets(rate, clock, max_tracked), clock


def test_a_new_key_may_spend_its_whole_burst_at_once():
    limits, _ = buckets()
    assert [limits.take("u") for _ in range(20)] == [0.0] * 20


def test_past_the_burst_the_wait_is_one_token_s_time():
    limits, _ = buckets()
    for _ in range(20):
        limits.take("u")
    assert limits.take("u") == pytest.approx(0.1)


def test_a_refused_request_takes_nothing():
    limits, clock = buckets()
    for _ in range(20):
        limits.take("u")
    limits.take("u")
    clock.now += 0.1
    assert limits.take("u") == 0.0


def test_tokens_come_back_at_the_rate():
    limits, clock = buckets()
    for _ in range(20):
        limits.take("u")
    clock.now += 0.5
    assert [limits.take("u") == 0.0 for _ in range(6)] == [True] * 5 + [False]


def test_an_idle_bucket_fills_only_to_its_burst():
    limits, clock = buckets()
    limits.take("u")
    clock.now += 3_600
    assert sum(limits.take("u") == 0.0 for _ in range(25)) == 20


def test_each_key_has_its_own_bucket():
    limits, _ = buckets()
    for _ in range(21):
        limits.take("u")
    assert limits.take("v") == 0.0


def test_full_buckets_are_forgotten_once_the_table_outgrows_its_bound():
    limits, clock = buckets(Rate(1, 1), max_tracked=10)
    for i in range(10):
        limits.take(f"old-{i}")
    clock.now += 5  # every old bucket is full again
    limits.take("new")
    assert len(limits._buckets) == 1


def test_a_busy_key_is_kept_when_the_table_is_trimmed():
    limits, _ = buckets(Rate(1, 1), max_tracked=2)
    limits.take("busy")
    limits.take("a")
    limits.take("b")
    assert limits.take("busy") > 0


def test_retry_after_is_whole_seconds_and_at_least_one():
    assert [retry_after(0.01), retry_after(1.0), retry_after(1.2)] == ["1", "1", "2"]


def test_a_rate_setting_reads_its_rate_and_burst():
    assert parse_rate("10/s burst 20") == Rate(10, 20)


def test_a_rate_per_minute_without_a_burst_allows_one_second_s_worth():
    assert parse_rate("600/min") == Rate(10, 10)


def test_off_is_no_limit():
    assert parse_rate("off") is None


def test_a_malformed_rate_is_refused_naming_the_form():
    with pytest.raises(ValueError, match="like '10/s burst 20'"):
        parse_rate("ten a second")


def test_each_of_n_processes_enforces_a_nth():
    assert Rate(10, 20).shared_by(2) == Rate(5, 10)
