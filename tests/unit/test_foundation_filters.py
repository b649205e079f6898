"""The foundation's filters, with the edge cases of Nova's reference (§3.1-§3.8).

Every verdict is asked of both paths: the per-host `check` (Nova's rule) and, through the
Scheduler, the column fast path, so a test fails if either is wrong.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from factories import aggregate, cluster, node, pod

from extender.cache.state import ClusterState
from extender.engine.filters import FILTERS, BaseFilter
from extender.engine.scheduler import Scheduler
from extender.kube.objects import Pod
from extender.model.options import Options
from extender.model.request import build_request_spec


def verdict(
    filter_name: str, state: ClusterState, host: str, the_pod: Pod, **options: Any
) -> str | None:
    """The filter's reason for rejecting `host` (None: it passes), from both paths."""
    opts = Options(**options)
    spec = build_request_spec(the_pod)
    f: BaseFilter = FILTERS[filter_name](opts)
    h = state.table[host]
    reason = f.host_passes(h, spec) if f.applies(spec) else None
    scheduler = Scheduler([filter_name], options=opts)
    rows = np.array([state.table.index[host]], dtype=np.intp)
    result = scheduler.filter(state.table, rows, spec)
    assert (len(result.passed) == 1) == (reason is None), "vector and check disagree"
    if reason is not None:
        rejected = result.failed if f.resolvable else result.unresolvable
        assert rejected == {host: reason}
    return reason


def one_node(*pods: Pod, options: Options | None = None, **node_kwargs: Any) -> ClusterState:
    """Node "n" with `pods`; allocation ratio defaults are the cache's options, as in serve."""
    return cluster([node("n", **node_kwargs)], pods, options=options)


def bound(**kwargs: Any) -> Pod:
    return pod(node_name="n", **kwargs)


# -- ComputeFilter ---------------------------------------------------------------------------


def test_compute_filter() -> None:
    state = cluster(
        [
            node("ok"),
            node("cordoned", unschedulable=True),
            node("down", ready=False),
            node("unknown", ready=None),
            node("both", unschedulable=True, ready=False),
        ]
    )
    p = pod()
    assert verdict("ComputeFilter", state, "ok", p) is None
    assert verdict("ComputeFilter", state, "cordoned", p) == (
        "ComputeFilter: node is cordoned (spec.unschedulable)"
    )
    assert verdict("ComputeFilter", state, "down", p) == "ComputeFilter: node is not Ready"
    assert verdict("ComputeFilter", state, "unknown", p) == "ComputeFilter: node is not Ready"
    # a disabled service is not even checked for liveness
    assert "cordoned" in str(verdict("ComputeFilter", state, "both", p))


# -- RamFilter -------------------------------------------------------------------------------


def test_ram_exactly_the_free_amount_passes() -> None:
    state = one_node(bound(requests={"memory": "6Gi"}), memory="8Gi")
    assert verdict("RamFilter", state, "n", pod(requests={"memory": "2Gi"})) is None
    assert verdict("RamFilter", state, "n", pod(requests={"memory": "2049Mi"})) == (
        "RamFilter: requested 2049Mi, usable 2048Mi (ratio 1)"
    )


def test_ram_ratio_raises_the_limit() -> None:
    state = one_node(bound(requests={"memory": "6Gi"}), memory="8Gi")
    big = pod(requests={"memory": "4Gi"})
    assert verdict("RamFilter", state, "n", big) == (
        "RamFilter: requested 4096Mi, usable 2048Mi (ratio 1)"
    )
    # limit 8Gi x 1.5 = 12Gi, used 6Gi: 6Gi usable
    ratio = Options(ram_allocation_ratio=1.5)
    state = one_node(bound(requests={"memory": "6Gi"}), memory="8Gi", options=ratio)
    assert verdict("RamFilter", state, "n", big) is None
    per_node = one_node(
        bound(requests={"memory": "6Gi"}),
        memory="8Gi",
        annotations={"weighbridge.io/ram-allocation-ratio": "1.5"},
    )
    assert verdict("RamFilter", per_node, "n", big) is None
    # a ratio below 1 keeps headroom: 8Gi x 0.5 = 4Gi, nothing used
    headroom = one_node(memory="8Gi", options=Options(ram_allocation_ratio=0.5))
    assert verdict("RamFilter", headroom, "n", big) is None
    assert verdict("RamFilter", headroom, "n", pod(requests={"memory": "5Gi"})) == (
        "RamFilter: requested 5120Mi, usable 4096Mi (ratio 0.5)"
    )


def test_ram_no_self_overcommit_whatever_the_ratio() -> None:
    state = one_node(memory="8Gi", options=Options(ram_allocation_ratio=16.0))
    reason = verdict("RamFilter", state, "n", pod(requests={"memory": "9Gi"}))
    assert reason == (
        "RamFilter: requested 9216Mi, node allocatable 8192Mi: "
        "a pod may not overcommit its own node"
    )


def test_ram_overcommitted_host_has_negative_usable() -> None:
    state = one_node(bound(requests={"memory": "10Gi"}), memory="8Gi")
    assert state.table["n"].free_ram_mb == -2048
    assert verdict("RamFilter", state, "n", pod(requests={"memory": "1Mi"})) == (
        "RamFilter: requested 1Mi, usable -2048Mi (ratio 1)"
    )
    assert verdict("RamFilter", state, "n", pod()) == (
        "RamFilter: requested 0Mi, usable -2048Mi (ratio 1)"
    )


# -- DiskFilter ------------------------------------------------------------------------------


def test_disk_filter() -> None:
    state = one_node(bound(requests={"ephemeral-storage": "60Gi"}), disk="100Gi")
    assert verdict("DiskFilter", state, "n", pod(requests={"ephemeral-storage": "40Gi"})) is None
    assert verdict("DiskFilter", state, "n", pod(requests={"ephemeral-storage": "41Gi"})) == (
        "DiskFilter: requested 41984Mi ephemeral-storage, usable 40960Mi (ratio 1)"
    )
    doubled = one_node(
        bound(requests={"ephemeral-storage": "60Gi"}),
        disk="100Gi",
        options=Options(disk_allocation_ratio=2.0),
    )
    assert verdict("DiskFilter", doubled, "n", pod(requests={"ephemeral-storage": "41Gi"})) is None
    assert verdict("DiskFilter", doubled, "n", pod(requests={"ephemeral-storage": "101Gi"})) == (
        "DiskFilter: requested 103424Mi ephemeral-storage, node allocatable 102400Mi: "
        "a pod may not overcommit its own node"
    )
    assert verdict("DiskFilter", state, "n", pod(requests={"cpu": "1"})) is None


# -- CoreFilter ------------------------------------------------------------------------------


def test_core_filter_ratio_and_self_overcommit() -> None:
    state = one_node(bound(requests={"cpu": "3"}), cpu="4")
    two = pod(requests={"cpu": "2"})
    assert verdict("CoreFilter", state, "n", pod(requests={"cpu": "1"})) is None
    assert verdict("CoreFilter", state, "n", two) == (
        "CoreFilter: requested 2 vCPUs, free 1 (ratio 1)"
    )
    doubled = one_node(
        bound(requests={"cpu": "3"}), cpu="4", options=Options(cpu_allocation_ratio=2.0)
    )
    assert verdict("CoreFilter", doubled, "n", two) is None
    assert verdict("CoreFilter", doubled, "n", pod(requests={"cpu": "4500m"})) == (
        "CoreFilter: requested 4.5 vCPUs, node allocatable 4: a pod may not overcommit its own node"
    )
    assert verdict("CoreFilter", state, "n", pod(requests={"cpu": "1001m"})) == (
        "CoreFilter: requested 1.001 vCPUs, free 1 (ratio 1)"
    )


def test_core_filter_passes_a_node_without_cpus() -> None:
    """Nova's fail-safe: a host reporting 0 vCPUs has broken CPU collection, not no CPUs."""
    state = one_node(cpu="0")
    assert verdict("CoreFilter", state, "n", pod(requests={"cpu": "64"})) is None


# -- NumInstancesFilter and IoOpsFilter --------------------------------------------------------


def test_num_instances_at_exactly_the_maximum_fails() -> None:
    state = one_node(*(bound() for _ in range(3)))
    assert verdict("NumInstancesFilter", state, "n", pod(), max_instances_per_host=4) is None
    assert verdict("NumInstancesFilter", state, "n", pod(), max_instances_per_host=3) == (
        "NumInstancesFilter: 3 pods on the node, max_instances_per_host is 3"
    )
    finished = one_node(*(bound(phase="Succeeded") for _ in range(3)))
    assert verdict("NumInstancesFilter", finished, "n", pod(), max_instances_per_host=3) is None


def test_num_instances_default_is_fifty() -> None:
    state = one_node(*(bound() for _ in range(50)))
    assert verdict("NumInstancesFilter", state, "n", pod()) == (
        "NumInstancesFilter: 50 pods on the node, max_instances_per_host is 50"
    )
    state.delete_pod(next(iter(state.placements)))
    assert verdict("NumInstancesFilter", state, "n", pod()) is None


def test_io_ops_count_starting_and_terminating_pods() -> None:
    state = one_node(
        bound(phase="Pending"), bound(phase="Running", deleting=True), bound(phase="Running")
    )
    assert verdict("IoOpsFilter", state, "n", pod(), max_io_ops_per_host=3) is None
    assert verdict("IoOpsFilter", state, "n", pod(), max_io_ops_per_host=2) == (
        "IoOpsFilter: 2 pods starting or terminating on the node, max_io_ops_per_host is 2"
    )
    assert verdict("IoOpsFilter", state, "n", pod(), max_io_ops_per_host=0) is not None
    assert verdict("IoOpsFilter", one_node(), "n", pod()) is None


# -- AvailabilityZoneFilter ------------------------------------------------------------------


def zonal(zone: str) -> Pod:
    return pod(annotations={"weighbridge.io/availability-zone": zone})


@pytest.fixture
def zones() -> ClusterState:
    return cluster(
        [
            node("labelled", zone="az-1"),
            node("bare"),
            node("multi", aggregates=["both"]),
            node("edge", zone="az-3", aggregates=["edge"]),
        ],
        aggregates=[
            aggregate("both", availability_zone="az-1, az-2"),
            aggregate("edge", availability_zone="edge-1"),
        ],
    )


def test_no_zone_requested_every_node_passes(zones: ClusterState) -> None:
    for name in ("labelled", "bare", "multi", "edge"):
        assert verdict("AvailabilityZoneFilter", zones, name, pod()) is None


def test_zone_label_and_aggregate_metadata(zones: ClusterState) -> None:
    assert verdict("AvailabilityZoneFilter", zones, "labelled", zonal("az-1")) is None
    assert verdict("AvailabilityZoneFilter", zones, "labelled", zonal("az-2")) == (
        "AvailabilityZoneFilter: requested zone 'az-2', node is in az-1"
    )
    # an aggregate in several zones (comma-separated) matches each of them
    assert verdict("AvailabilityZoneFilter", zones, "multi", zonal("az-1")) is None
    assert verdict("AvailabilityZoneFilter", zones, "multi", zonal("az-2")) is None
    assert verdict("AvailabilityZoneFilter", zones, "multi", zonal("az-3")) == (
        "AvailabilityZoneFilter: requested zone 'az-3', node is in az-1, az-2"
    )
    assert verdict("AvailabilityZoneFilter", zones, "edge", zonal("edge-1")) is None
    assert verdict("AvailabilityZoneFilter", zones, "edge", zonal("az-3")) is None


def test_a_node_without_zone_is_in_the_default_zone(zones: ClusterState) -> None:
    assert verdict("AvailabilityZoneFilter", zones, "bare", zonal("nova")) is None
    assert verdict("AvailabilityZoneFilter", zones, "bare", zonal("az-1")) == (
        "AvailabilityZoneFilter: requested zone 'az-1', node has no zone (default 'nova')"
    )
    assert verdict("AvailabilityZoneFilter", zones, "labelled", zonal("nova")) is not None
    assert (
        verdict(
            "AvailabilityZoneFilter", zones, "bare", zonal("home"), default_availability_zone="home"
        )
        is None
    )


def test_default_schedule_zone_applies_to_pods_that_name_none(zones: ClusterState) -> None:
    assert (
        verdict("AvailabilityZoneFilter", zones, "labelled", pod(), default_schedule_zone="az-1")
        is None
    )
    assert (
        verdict("AvailabilityZoneFilter", zones, "edge", pod(), default_schedule_zone="az-1")
        is not None
    )
    assert (
        verdict(
            "AvailabilityZoneFilter", zones, "edge", zonal("edge-1"), default_schedule_zone="az-1"
        )
        is None
    )


# -- the chain ---------------------------------------------------------------------------------


def test_filters_run_in_order_and_stop_when_no_host_is_left() -> None:
    state = cluster(
        [node("small", memory="1Gi"), node("cordoned", unschedulable=True), node("big")]
    )
    scheduler = Scheduler(["ComputeFilter", "RamFilter", "CoreFilter", "DiskFilter"])
    spec = build_request_spec(pod(requests={"memory": "2Gi", "cpu": "64"}))
    rows, _ = state.table.rows(None)
    result = scheduler.filter(state.table, rows, spec)
    assert [(s.name, s.start, s.end) for s in result.steps] == [
        ("ComputeFilter", 3, 2),
        ("RamFilter", 2, 1),
        ("CoreFilter", 1, 0),
    ]
    assert len(result.passed) == 0
    assert set(result.failed) == {"small", "big"}
    assert set(result.unresolvable) == {"cordoned"}
    assert result.steps[1].rejected["small"].startswith("RamFilter: requested 2048Mi")
