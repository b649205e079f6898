"""NUMATopologyFilter: a pod asking for single-numa-node must fit one NUMA zone of the
node's NodeResourceTopology."""

from __future__ import annotations

from extender.cache.state import ClusterState
from extender.contract import NUMA_POLICY
from extender.kube.objects import Pod
from tests.builders import cluster, node, pod, topology
from tests.unit.engine.helpers import check, extender_filter, passing, run

GPU = "nvidia.com/gpu"
ZONES = {
    "node-0": {"cpu": "4", "memory": "8Gi", GPU: "0"},
    "node-1": {"cpu": "2", "memory": "16Gi", GPU: "2"},
}


def _numa_cluster() -> ClusterState:
    return cluster(
        topology("numa", ZONES),
        node("numa", cpu="6", memory="24Gi", extended={GPU: "2"}),
        node("flat", cpu="6", memory="24Gi"),
    )


def _numa_pod(**requests: str) -> Pod:
    return pod(annotations={NUMA_POLICY: "single-numa-node"}, requests=requests)


def test_one_zone_must_hold_the_pod() -> None:
    state = _numa_cluster()
    assert passing(["NUMATopologyFilter"], state, _numa_pod(cpu="3", memory="4Gi")) == ["numa"]
    assert passing(["NUMATopologyFilter"], state, _numa_pod(cpu="2", memory="12Gi")) == ["numa"]
    # 3 cpus and 12Gi fit the node, but no single zone
    reason = check("NUMATopologyFilter", state, _numa_pod(cpu="3", memory="12Gi"), "numa")
    assert reason == (
        "NUMATopologyFilter: no single NUMA zone has cpu 3, memory 12288Mi available "
        "[node: node-0: cpu 4, memory 8192Mi; node-1: cpu 2, memory 16384Mi]"
    )


def test_devices_count_where_zones_report_them() -> None:
    state = _numa_cluster()
    assert passing(["NUMATopologyFilter"], state, _numa_pod(cpu="3", **{GPU: "1"})) == []
    assert passing(["NUMATopologyFilter"], state, _numa_pod(cpu="1", **{GPU: "1"})) == ["numa"]
    # a resource no zone reports (ephemeral storage) does not count
    assert passing(
        ["NUMATopologyFilter"], state, _numa_pod(cpu="1", **{"ephemeral-storage": "1Gi"})
    ) == ["numa"]


def test_nodes_without_topology_fail_and_plain_pods_are_not_checked() -> None:
    state = _numa_cluster()
    assert check("NUMATopologyFilter", state, _numa_pod(cpu="1"), "flat") == (
        "NUMATopologyFilter: node publishes no NUMA zones (NodeResourceTopology)"
    )
    assert set(run(["NUMATopologyFilter"], state, _numa_pod(cpu="1")).unresolvable) == {"flat"}
    assert passing(["NUMATopologyFilter"], state, pod(requests={"cpu": "5"})) == ["flat", "numa"]


def test_unknown_numa_policy_names_the_annotation() -> None:
    state = _numa_cluster()
    answer = extender_filter(
        state, pod(annotations={NUMA_POLICY: "restricted"}), ["NUMATopologyFilter"]
    )
    assert set(answer.FailedAndUnresolvableNodes.values()) == {
        "weighbridge: annotation weighbridge.io/numa-policy: unknown policy 'restricted'; "
        "use single-numa-node"
    }
