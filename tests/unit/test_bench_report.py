"""The benchmark report: each row with the machine's speed beside it."""

from __future__ import annotations

from bench.calibrate import machine_speed
from bench.results import Result, markdown


def test_the_calibration_loop_reports_a_speed():
    assert machine_speed() > 0


def test_each_row_states_the_machine_speed_it_was_measured_at():
    row = Result("B2 repeated (Tansu) p99 at 100/s vs direct", 72.6, "ms", 22.4, "ratio <= 2", machine=2727.0)
    table = markdown([row], "t")
    assert "| machine |" in table
    assert table.splitlines()[4].endswith("| 2,727 |")
