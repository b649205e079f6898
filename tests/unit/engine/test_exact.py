"""Whole-node placement: ExactRamFilter, ExactDiskFilter, ExactCoreFilter; AllHostsFilter."""

from __future__ import annotations

import pytest

from extender.cache.state import ClusterState
from tests.builders import cluster, node, pod
from tests.unit.engine.helpers import check, passing, run


def _state() -> ClusterState:
    return cluster(
        node("empty", cpu="8", memory="32Gi", disk="100Gi"),
        node("used", cpu="8", memory="32Gi", disk="100Gi"),
        pod("tenant", node_name="used", requests={"cpu": "2", "memory": "8Gi"}),
    )


WHOLE = {"cpu": "8", "memory": "32Gi", "ephemeral-storage": "100Gi"}


@pytest.mark.parametrize("name", ["ExactRamFilter", "ExactDiskFilter", "ExactCoreFilter"])
def test_a_pod_sized_to_the_node_gets_only_empty_nodes(name: str) -> None:
    state = _state()
    expected = ["empty"] if name != "ExactDiskFilter" else ["empty", "used"]
    assert passing([name], state, pod(requests=WHOLE)) == expected
    # rejections are resolvable: evicting the pods would empty the node
    assert set(run([name], state, pod(requests=WHOLE)).unresolvable) == set()


def test_exact_ram() -> None:
    state = _state()
    assert check("ExactRamFilter", state, pod(requests={"memory": "24Gi"}), "used") is None
    assert check("ExactRamFilter", state, pod(requests={"memory": "24575Mi"}), "used") == (
        "ExactRamFilter: needs 24575Mi, not exactly what the node has free [node: 24576Mi free]"
    )
    assert check("ExactRamFilter", state, pod(requests={"memory": "24577Mi"}), "used")


def test_exact_disk() -> None:
    state = _state()
    assert (
        check("ExactDiskFilter", state, pod(requests={"ephemeral-storage": "100Gi"}), "used")
        is None
    )
    assert check("ExactDiskFilter", state, pod(requests={"ephemeral-storage": "99Gi"}), "used") == (
        "ExactDiskFilter: needs 101376Mi ephemeral-storage, not exactly what the node has free "
        "[node: 102400Mi free]"
    )


def test_exact_core() -> None:
    state = _state()
    assert check("ExactCoreFilter", state, pod(requests={"cpu": "6"}), "used") is None
    assert check("ExactCoreFilter", state, pod(requests={"cpu": "5500m"}), "used") == (
        "ExactCoreFilter: needs 5.5 vCPUs, not exactly what the node has free [node: 6 free]"
    )


def test_no_cpu_count_fails_exact_core_but_passes_core() -> None:
    state = cluster(node("blind", cpu="0"))
    assert check("ExactCoreFilter", state, pod(requests={"cpu": "0"}), "blind") == (
        "ExactCoreFilter: node reports no CPUs"
    )
    assert check("CoreFilter", state, pod(requests={"cpu": "4"}), "blind") is None


def test_all_hosts_filter() -> None:
    state = cluster(node("a", ready=False), node("b", unschedulable=True))
    result = run(["AllHostsFilter"], state, pod())
    assert len(result.passed) == 2
    assert result.steps[0].seconds == 0.0
