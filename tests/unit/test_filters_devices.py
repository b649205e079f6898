"""Devices (PciPassthroughFilter, PCIWeigher) as extended resources, and NUMATopologyFilter
over NodeResourceTopology zones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from catalogue_factories import (
    check,
    cluster,
    decode,
    extender_filter,
    host,
    node,
    passing,
    pod,
    raw,
    request,
    run,
    topology,
    weigh,
)

from extender.cache.snapshot import load_snapshot
from extender.contract import NUMA_POLICY
from extender.errors import ObjectError
from extender.kube.objects import NodeResourceTopology

GPU = "nvidia.com/gpu"


def _gpu_cluster() -> Any:
    return cluster(
        node("plain"),
        node("gpu-4", extended={GPU: "4"}),
        node("gpu-1", extended={GPU: "4", "example.com/rdma": "2"}),
        node("many", extended={GPU: "200"}),
        pod("busy", node_name="gpu-1", requests={GPU: "3"}),
    )


def test_device_requests_are_extended_resources_only() -> None:
    spec = request(
        cluster(node("n1")),
        pod(requests={GPU: "2", "hugepages-2Mi": "64Mi", "cpu": "1", "example.com/rdma": "1"}),
    )
    assert spec.pci_requests == {GPU: 2.0, "example.com/rdma": 1.0}


def test_pci_passthrough() -> None:
    state = _gpu_cluster()
    assert passing(["PciPassthroughFilter"], state, pod(requests={GPU: "1"})) == [
        "gpu-1",
        "gpu-4",
        "many",
    ]
    assert passing(["PciPassthroughFilter"], state, pod(requests={GPU: "2"})) == ["gpu-4", "many"]
    assert check("PciPassthroughFilter", state, pod(requests={GPU: "2"}), "gpu-1") == (
        "PciPassthroughFilter: nvidia.com/gpu requested 2, free 1 of 4"
    )
    assert check("PciPassthroughFilter", state, pod(requests={GPU: "1"}), "plain") == (
        "PciPassthroughFilter: nvidia.com/gpu requested 1, free 0 of 0"
    )


def test_pci_requests_are_checked_together_and_preemption_may_help() -> None:
    state = _gpu_cluster()
    both = pod(requests={GPU: "1", "example.com/rdma": "2"})
    assert passing(["PciPassthroughFilter"], state, both) == ["gpu-1"]
    result = run(["PciPassthroughFilter"], state, pod(requests={GPU: "2"}))
    assert set(result.failed) == {"plain", "gpu-1"}
    assert result.unresolvable == {}


def test_no_device_request_is_not_engaged() -> None:
    state = _gpu_cluster()
    hugepages = pod(requests={"hugepages-2Mi": "64Mi"})
    result = run(["PciPassthroughFilter"], state, hugepages)
    assert len(result.passed) == 4
    assert result.steps[0].seconds == 0.0


def test_pci_weigher_keeps_device_nodes_for_device_pods() -> None:
    state = _gpu_cluster()
    # free devices 0, 4, 1 (+2 rdma), 200: raw 100 - min(free, 99)
    assert raw("PCIWeigher", state, pod()) == [100.0, 96.0, 97.0, 1.0]
    assert host(state, "gpu-1").free_devices == 3.0
    _, order = weigh({"PCIWeigher": 1.0}, state, pod())
    assert order == ["plain", "gpu-1", "gpu-4", "many"]
    # a device pod stacks onto the device node with the fewest left
    gpu_pod = pod(requests={GPU: "1"})
    _, order = weigh({"PCIWeigher": 1.0}, state, gpu_pod, names=["gpu-4", "gpu-1", "many"])
    assert order == ["gpu-1", "gpu-4", "many"]


def test_pci_weigher_says_nothing_without_devices() -> None:
    state = cluster(node("a"), node("b"))
    w, _ = weigh({"PCIWeigher": 1.0, "RAMWeigher": 1.0}, state, pod())
    assert w.contributions["PCIWeigher"].tolist() == [0.0, 0.0]


# -- NUMATopologyFilter -------------------------------------------------------------------

ZONES = {
    "node-0": {"cpu": "4", "memory": "8Gi", GPU: "0"},
    "node-1": {"cpu": "2", "memory": "16Gi", GPU: "2"},
}


def _numa_cluster() -> Any:
    return cluster(
        topology("numa", ZONES),
        node("numa", cpu="6", memory="24Gi", extended={GPU: "2"}),
        node("flat", cpu="6", memory="24Gi"),
    )


def _numa_pod(**requests: str) -> dict[str, Any]:
    return pod(annotations={NUMA_POLICY: "single-numa-node"}, requests=requests)


def test_one_zone_must_hold_the_pod() -> None:
    state = _numa_cluster()
    assert passing(["NUMATopologyFilter"], state, _numa_pod(cpu="3", memory="4Gi")) == ["numa"]
    assert passing(["NUMATopologyFilter"], state, _numa_pod(cpu="2", memory="12Gi")) == ["numa"]
    # 3 cpus and 12Gi fit the node, but no single zone
    reason = check("NUMATopologyFilter", state, _numa_pod(cpu="3", memory="12Gi"), "numa")
    assert reason == (
        "NUMATopologyFilter: no single NUMA zone has cpu 3, memory 12288Mi available "
        "(node-0: cpu 4, memory 8192Mi; node-1: cpu 2, memory 16384Mi)"
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
    assert set(run(["NUMATopologyFilter"], state, _numa_pod(cpu="1")).failed) == {"flat"}
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


def test_topology_events() -> None:
    state = cluster(node("n1"))
    nrt = decode(topology("n1", ZONES))
    assert isinstance(nrt, NodeResourceTopology)
    state.upsert_numa_topology(nrt)
    zones = host(state, "n1").numa_zones
    assert zones is not None
    assert [z.name for z in zones] == ["node-0", "node-1"]
    assert zones[1].available == {"cpu": 2.0, "memory": 16384.0, GPU: 2.0}
    # a node update keeps its zones; deleting the topology drops them
    state.upsert_node(decode(node("n1", cpu="16")))  # type: ignore[arg-type]
    assert host(state, "n1").numa_zones is zones
    state.delete_numa_topology("n1")
    assert host(state, "n1").numa_zones is None
    # a topology that arrives before its node is attached when the node comes
    early = cluster(topology("n2", ZONES))
    early.upsert_node(decode(node("n2")))  # type: ignore[arg-type]
    assert host(early, "n2").numa_zones is not None


def test_other_zone_types_are_skipped_and_bad_quantities_named() -> None:
    obj = topology("n1", ZONES)
    obj["zones"].append({"name": "socket-0", "type": "Socket", "resources": []})
    state = cluster(node("n1"), obj)
    assert [z.name for z in host(state, "n1").numa_zones or []] == ["node-0", "node-1"]
    bad = topology("n1", {"node-0": {"cpu": "four"}})
    with pytest.raises(ObjectError, match="NodeResourceTopology n1: zone node-0: invalid quantity"):
        cluster(node("n1"), bad)


def test_snapshots_carry_topologies(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "snap.yaml"
    path.write_text(yaml.safe_dump_all([topology("n1", ZONES), node("n1")]))
    state = load_snapshot([path])
    assert host(state, "n1").numa_zones is not None
