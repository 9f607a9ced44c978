"""The cluster supervisor's plan and back-off, without processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataflows.flow_metrics import RESTARTS_ENV
from ops.cluster import (
    Backoff,
    ClusterPlan,
    Supervisor,
    local_addresses,
    parse_args,
    plan_from_args,
    recovery_partitions,
)


def test_one_process_runs_without_cluster_addresses():
    cmd = ClusterPlan((), (0,), 2, Path("/r")).command(0)
    assert "-a" not in cmd
    assert "-i" not in cmd
    assert cmd[cmd.index("-w") + 1] == "2"
    assert cmd[cmd.index("-r") + 1] == "/r"


def test_each_process_gets_its_id_and_every_address():
    plan = ClusterPlan(("h1:1", "h2:2"), (0, 1), 1, Path("/r"))
    cmd = plan.command(1)
    assert cmd[cmd.index("-i") + 1] == "1"
    assert cmd[cmd.index("-a") + 1] == "h1:1;h2:2"


def test_given_addresses_and_process_ids_run_only_those_here():
    args = parse_args(["--addresses", "10.0.0.1:2101;10.0.0.2:2101", "--process-ids", "1", "-w", "3"])
    plan = plan_from_args(args, Path("/r"))
    assert plan.local_ids == (1,)
    assert plan.addresses == ("10.0.0.1:2101", "10.0.0.2:2101")


def test_local_processes_get_loopback_addresses():
    plan = plan_from_args(parse_args(["--processes", "3"]), Path("/r"))
    assert plan.local_ids == (0, 1, 2)
    assert all(a.startswith("127.0.0.1:") for a in plan.addresses)
    assert len(set(plan.addresses)) == 3


def test_the_recovery_store_has_at_least_four_partitions_and_one_per_worker():
    assert recovery_partitions(ClusterPlan((), (0,), 1, Path("/r"))) == 4
    assert recovery_partitions(ClusterPlan(("a:1", "b:2", "c:3"), (0, 1, 2), 2, Path("/r"))) == 6


def test_quick_failures_double_the_wait_up_to_the_most():
    backoff = Backoff(first=1, most=5, stable=60)
    assert [backoff.after_run(2) for _ in range(5)] == [1, 2, 4, 5, 5]


def test_a_stable_run_resets_the_wait():
    backoff = Backoff(first=1, most=30, stable=60)
    backoff.after_run(1)
    backoff.after_run(1)
    assert backoff.after_run(61) == 1


def test_cluster_addresses_avoid_the_metrics_ports():
    handed_out = iter([9464, 9465, 9466, 9467])
    addresses = local_addresses(2, lambda: next(handed_out), avoid={9464, 9465})
    assert addresses == ("127.0.0.1:9466", "127.0.0.1:9467")


def test_a_liveness_window_within_two_snapshot_intervals_is_refused():
    plan = ClusterPlan((), (0,), 1, Path("/r"), snapshot_s=5)
    with pytest.raises(ValueError, match="twice the snapshot interval"):
        Supervisor(plan, {}, Backoff(), liveness_s=10)


def test_each_process_is_told_how_often_its_supervisor_restarted_the_cluster():
    supervisor = Supervisor(ClusterPlan((), (0,), 1, Path("/r")), {}, Backoff())
    assert supervisor.env_of(0)[RESTARTS_ENV] == "0"
    supervisor.restarts = 3
    assert supervisor.env_of(0)[RESTARTS_ENV] == "3"
