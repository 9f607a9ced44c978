"""The hop split of the bench's refunds: medians, and where the slowest come from."""

from __future__ import annotations

from bench.hops import HOPS, medians, slowest_medians


def test_the_slowest_hundredth_is_split_by_its_own_hops():
    usual = [(2.0, 5.0, 2.0)] * 198
    slow = [(2.0, 40.0, 3.0), (2.0, 30.0, 9.0)]
    tail = slowest_medians(usual + slow)
    assert tail == dict(zip(HOPS, (2.0, 35.0, 6.0), strict=True)), "the two slowest of 200, by their total"


def test_a_handful_of_refunds_still_has_a_slowest_one():
    assert slowest_medians([(1.0, 1.0, 1.0), (1.0, 9.0, 1.0)]) == dict(zip(HOPS, (1.0, 9.0, 1.0), strict=True))


def test_no_refund_found_has_no_hops():
    assert medians([]) == {}
