"""Capacity: RamFilter, DiskFilter, CoreFilter, NumInstancesFilter and IoOpsFilter with the
edge cases of Nova's reference (§3.1-§3.8), and the weighers that spread or stack by what is
free (RAMWeigher, CPUWeigher, DiskWeigher, IoOpsWeigher).

Every verdict is asked of both paths: the per-host rule (Nova's host_passes) and, through
the Scheduler, the column fast path, so a test fails if either is wrong.
"""

from __future__ import annotations

from typing import Any

import pytest

from extender.cache.state import ClusterState
from extender.kube.objects import Pod
from extender.model.options import Options
from tests.builders import cluster, node, pod
from tests.unit.engine.helpers import check, weigh


def one_node(*pods: Pod, options: Options | None = None, **node_kwargs: Any) -> ClusterState:
    """Node "n" with `pods`; allocation ratio defaults are the cache's options, as in serve."""
    return cluster(node("n", **node_kwargs), *pods, options=options)


def bound(**kwargs: Any) -> Pod:
    return pod(node_name="n", **kwargs)


# -- RamFilter -------------------------------------------------------------------------------


def test_ram_exactly_the_free_amount_passes() -> None:
    state = one_node(bound(requests={"memory": "6Gi"}), memory="8Gi")
    assert check("RamFilter", state, pod(requests={"memory": "2Gi"}), "n") is None
    assert check("RamFilter", state, pod(requests={"memory": "2049Mi"}), "n") == (
        "RamFilter: needs 2049Mi, more than usable memory (ratio 1) [node: 2048Mi usable]"
    )


def test_ram_ratio_raises_the_limit() -> None:
    state = one_node(bound(requests={"memory": "6Gi"}), memory="8Gi")
    big = pod(requests={"memory": "4Gi"})
    assert check("RamFilter", state, big, "n") == (
        "RamFilter: needs 4096Mi, more than usable memory (ratio 1) [node: 2048Mi usable]"
    )
    # limit 8Gi x 1.5 = 12Gi, used 6Gi: 6Gi usable
    ratio = Options(ram_allocation_ratio=1.5)
    state = one_node(bound(requests={"memory": "6Gi"}), memory="8Gi", options=ratio)
    assert check("RamFilter", state, big, "n") is None
    per_node = one_node(
        bound(requests={"memory": "6Gi"}),
        memory="8Gi",
        annotations={"weighbridge.io/ram-allocation-ratio": "1.5"},
    )
    assert check("RamFilter", per_node, big, "n") is None
    # a ratio below 1 keeps headroom: 8Gi x 0.5 = 4Gi, nothing used
    headroom = one_node(memory="8Gi", options=Options(ram_allocation_ratio=0.5))
    assert check("RamFilter", headroom, big, "n") is None
    assert check("RamFilter", headroom, pod(requests={"memory": "5Gi"}), "n") == (
        "RamFilter: needs 5120Mi, more than usable memory (ratio 0.5) [node: 4096Mi usable]"
    )


def test_ram_no_self_overcommit_whatever_the_ratio() -> None:
    state = one_node(memory="8Gi", options=Options(ram_allocation_ratio=16.0))
    reason = check("RamFilter", state, pod(requests={"memory": "9Gi"}), "n")
    assert reason == (
        "RamFilter: needs 9216Mi, more than the node's allocatable memory: "
        "a pod may not overcommit its own node [node: 8192Mi allocatable]"
    )


def test_ram_overcommitted_host_has_negative_usable() -> None:
    state = one_node(bound(requests={"memory": "10Gi"}), memory="8Gi")
    assert state.table["n"].free_ram_mb == -2048
    assert check("RamFilter", state, pod(requests={"memory": "1Mi"}), "n") == (
        "RamFilter: needs 1Mi, more than usable memory (ratio 1) [node: -2048Mi usable]"
    )
    assert check("RamFilter", state, pod(), "n") == (
        "RamFilter: needs 0Mi, more than usable memory (ratio 1) [node: -2048Mi usable]"
    )


# -- DiskFilter ------------------------------------------------------------------------------


def test_disk_filter() -> None:
    state = one_node(bound(requests={"ephemeral-storage": "60Gi"}), disk="100Gi")
    assert check("DiskFilter", state, pod(requests={"ephemeral-storage": "40Gi"}), "n") is None
    assert check("DiskFilter", state, pod(requests={"ephemeral-storage": "41Gi"}), "n") == (
        "DiskFilter: needs 41984Mi, more than usable ephemeral-storage (ratio 1) [node: 40960Mi "
        "usable]"
    )
    doubled = one_node(
        bound(requests={"ephemeral-storage": "60Gi"}),
        disk="100Gi",
        options=Options(disk_allocation_ratio=2.0),
    )
    assert check("DiskFilter", doubled, pod(requests={"ephemeral-storage": "41Gi"}), "n") is None
    assert check("DiskFilter", doubled, pod(requests={"ephemeral-storage": "101Gi"}), "n") == (
        "DiskFilter: needs 103424Mi, more than the node's allocatable ephemeral-storage: "
        "a pod may not overcommit its own node [node: 102400Mi allocatable]"
    )
    assert check("DiskFilter", state, pod(requests={"cpu": "1"}), "n") is None


# -- CoreFilter ------------------------------------------------------------------------------


def test_core_filter_ratio_and_self_overcommit() -> None:
    state = one_node(bound(requests={"cpu": "3"}), cpu="4")
    two = pod(requests={"cpu": "2"})
    assert check("CoreFilter", state, pod(requests={"cpu": "1"}), "n") is None
    assert check("CoreFilter", state, two, "n") == (
        "CoreFilter: needs 2, more than free vCPUs (ratio 1) [node: 1 free]"
    )
    doubled = one_node(
        bound(requests={"cpu": "3"}), cpu="4", options=Options(cpu_allocation_ratio=2.0)
    )
    assert check("CoreFilter", doubled, two, "n") is None
    assert check("CoreFilter", doubled, pod(requests={"cpu": "4500m"}), "n") == (
        "CoreFilter: needs 4.5, more than the node's allocatable vCPUs: a pod may not overcommit "
        "its own node [node: 4 allocatable]"
    )
    assert check("CoreFilter", state, pod(requests={"cpu": "1001m"}), "n") == (
        "CoreFilter: needs 1.001, more than free vCPUs (ratio 1) [node: 1 free]"
    )


def test_core_filter_passes_a_node_without_cpus() -> None:
    """Nova's fail-safe: a host reporting 0 vCPUs has broken CPU collection, not no CPUs."""
    state = one_node(cpu="0")
    assert check("CoreFilter", state, pod(requests={"cpu": "64"}), "n") is None


# -- NumInstancesFilter and IoOpsFilter --------------------------------------------------------


def test_num_instances_at_exactly_the_maximum_fails() -> None:
    state = one_node(*(bound() for _ in range(3)))
    assert check("NumInstancesFilter", state, pod(), "n", Options(max_instances_per_host=4)) is None
    assert check("NumInstancesFilter", state, pod(), "n", Options(max_instances_per_host=3)) == (
        "NumInstancesFilter: pods on the node reach max_instances_per_host (3) [node: 3]"
    )
    finished = one_node(*(bound(phase="Succeeded") for _ in range(3)))
    assert (
        check("NumInstancesFilter", finished, pod(), "n", Options(max_instances_per_host=3)) is None
    )


def test_num_instances_default_is_fifty() -> None:
    state = one_node(*(bound() for _ in range(50)))
    assert check("NumInstancesFilter", state, pod(), "n") == (
        "NumInstancesFilter: pods on the node reach max_instances_per_host (50) [node: 50]"
    )
    state.delete_pod(next(iter(state.placements)))
    assert check("NumInstancesFilter", state, pod(), "n") is None


def test_io_ops_count_starting_and_terminating_pods() -> None:
    state = one_node(
        bound(phase="Pending"), bound(phase="Running", deleting=True), bound(phase="Running")
    )
    assert check("IoOpsFilter", state, pod(), "n", Options(max_io_ops_per_host=3)) is None
    assert check("IoOpsFilter", state, pod(), "n", Options(max_io_ops_per_host=2)) == (
        "IoOpsFilter: pods starting or terminating on the node reach max_io_ops_per_host (2) "
        "[node: 2]"
    )
    assert check("IoOpsFilter", state, pod(), "n", Options(max_io_ops_per_host=0)) is not None
    assert check("IoOpsFilter", one_node(), pod(), "n") is None


# -- RAMWeigher, CPUWeigher, DiskWeigher, IoOpsWeigher ----------------------------------------


def test_ram_weigher_spreads_and_a_negative_multiplier_stacks() -> None:
    state = cluster(node("big", memory="64Gi"), node("small", memory="16Gi"))
    _, spread = weigh({"RAMWeigher": 1.0}, state, pod(), names=["small", "big"])
    assert spread == ["big", "small"]
    w, stack = weigh({"RAMWeigher": -1.0}, state, pod(), names=["big", "small"])
    assert stack == ["small", "big"]
    assert w.weights.tolist() == pytest.approx([-0.25, -1.0])


def test_cpu_weigher_free_vcpus_under_the_ratio() -> None:
    """Rocky's test: free vCPUs 0, 2, 6 and 16: the 16-free host wins with 1.0."""
    hosts = [node(f"h{i}", cpu="16") for i in range(1, 5)]
    used = {"h1": "16", "h2": "14", "h3": "10", "h4": "0"}
    state = cluster(*hosts, *(pod(node_name=n, requests={"cpu": c}) for n, c in used.items()))
    w, order = weigh({"CPUWeigher": 1.0}, state, pod())
    assert order == ["h4", "h3", "h2", "h1"]
    assert w.weights.tolist() == pytest.approx([1.0, 6 / 16, 2 / 16, 0.0])
    # a host with -2 free is clipped to the class minval 0
    state.upsert_pod(pod(node_name="h1", requests={"cpu": "2"}))
    w, order = weigh({"CPUWeigher": 1.0}, state, pod())
    assert order[0] == "h4"
    assert w.weights.tolist()[-1] == 0.0


def test_cpu_weigher_reads_the_allocation_ratio() -> None:
    state = cluster(
        node("a", cpu="4", annotations={"weighbridge.io/cpu-allocation-ratio": "4"}),
        node("b", cpu="8"),
    )
    _, order = weigh({"CPUWeigher": 1.0}, state, pod())
    assert order == ["a", "b"]  # 16 free under ratio 4 beats 8


def test_disk_and_io_ops_weighers() -> None:
    state = cluster(
        node("busy", disk="500Gi"),
        node("idle", disk="100Gi"),
        *(pod(node_name="busy", phase="Pending") for _ in range(3)),
    )
    _, order = weigh({"DiskWeigher": 1.0}, state, pod())
    assert order == ["busy", "idle"]
    w, order = weigh({"IoOpsWeigher": -1.0}, state, pod())
    assert order == ["idle", "busy"]
    assert w.weights.tolist() == [0.0, -1.0]
