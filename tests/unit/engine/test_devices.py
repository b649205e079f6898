"""Devices as extended resources: PciPassthroughFilter and PCIWeigher."""

from __future__ import annotations

from extender.cache.state import ClusterState
from tests.builders import cluster, node, pod, request_spec
from tests.unit.engine.helpers import check, passing, raw, run, weigh

GPU = "nvidia.com/gpu"


def _gpu_cluster() -> ClusterState:
    return cluster(
        node("plain"),
        node("gpu-4", extended={GPU: "4"}),
        node("gpu-1", extended={GPU: "4", "example.com/rdma": "2"}),
        node("many", extended={GPU: "200"}),
        pod("busy", node_name="gpu-1", requests={GPU: "3"}),
    )


def test_device_requests_are_extended_resources_only() -> None:
    spec = request_spec(
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
        "PciPassthroughFilter: needs 2 nvidia.com/gpu, more than free [node: nvidia.com/gpu free "
        "1 of 4]"
    )
    assert check("PciPassthroughFilter", state, pod(requests={GPU: "1"}), "plain") == (
        "PciPassthroughFilter: needs 1 nvidia.com/gpu, more than free [node: nvidia.com/gpu free "
        "0 of 0]"
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
    assert state.table["gpu-1"].free_devices == 3.0
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
