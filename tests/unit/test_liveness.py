"""A dataflow process is live while it stores batches or has nothing waiting."""

from __future__ import annotations

from dataflows.flow_metrics import Liveness


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_process_with_nothing_waiting_is_live_however_quiet():
    clock = Clock()
    live = Liveness(10, lambda: [0.0, 0.0], clock)
    clock.now += 3_600
    assert live.check()[0] is True


def test_input_waiting_and_nothing_stored_for_the_window_is_stalled():
    clock = Clock()
    live = Liveness(10, lambda: [5.0], clock)
    clock.now += 10
    alive, why = live.check()
    assert alive is False
    assert "5 messages waiting" in why


def test_a_batch_stored_within_the_window_keeps_a_busy_process_live():
    clock = Clock()
    live = Liveness(10, lambda: [5.0], clock)
    clock.now += 9
    live.progressed()
    clock.now += 9
    assert live.check()[0] is True
