"""A dataflow process is live while its cluster closes epochs or it stores batches."""

from __future__ import annotations

from dataflows.flow_metrics import Liveness


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def reading(window: float, clock: Clock, lag: float = 0.0) -> Liveness:
    live = Liveness(window, lambda: [lag], clock)
    live.reading()
    return live


def test_a_process_that_reads_no_partition_is_live_however_quiet():
    clock = Clock()
    live = Liveness(10, lambda: [], clock)
    clock.now += 3_600
    assert live.check()[0] is True


def test_no_epoch_closed_for_the_window_is_stalled_even_with_nothing_waiting():
    clock = Clock()
    live = reading(10, clock)
    clock.now += 10
    assert live.check()[0] is False


def test_the_stalled_answer_says_how_much_input_waits():
    clock = Clock()
    live = reading(10, clock, lag=5.0)
    clock.now += 10
    assert "5 messages waiting" in live.check()[1]


def test_progress_within_the_window_keeps_a_process_live():
    clock = Clock()
    live = reading(10, clock, lag=5.0)
    clock.now += 9
    live.progressed()
    clock.now += 9
    assert live.check()[0] is True


def test_the_window_starts_when_the_first_partition_is_read():
    clock = Clock()
    live = Liveness(10, lambda: [], clock)
    clock.now += 100  # forming the cluster
    live.reading()
    clock.now += 9
    assert live.check()[0] is True
