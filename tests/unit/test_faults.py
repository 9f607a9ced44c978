"""The fault tests' switch (``shared.faults``): what it accepts and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.faults import POINTS, parse


@pytest.mark.parametrize("spec", ["nowhere=kill:/tmp/x", "after-orders=stop:/tmp/x", "after-orders=kill:", "kill:/x"])
def test_a_bad_fault_switch_is_refused_naming_it(spec):
    with pytest.raises(ValueError, match="FAULT_POINTS"):
        parse(spec)


def test_every_point_can_be_armed_at_once():
    spec = ",".join(f"{p}=pause:/tmp/{p}" for p in POINTS)
    assert parse(spec) == {p: ("pause", Path(f"/tmp/{p}")) for p in POINTS}


def test_no_switch_arms_nothing():
    assert parse(None) == {} and parse("") == {}
