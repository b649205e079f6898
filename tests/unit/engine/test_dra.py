"""PciPassthroughFilter under DRA's extended resources (KEP-5004, DRAExtendedResource, on by
default since Kubernetes v1.36): a resource a DeviceClass serves is left to DRA on a node
whose allocatable does not list it, as kube-scheduler's NodeResourcesFit does
(shouldDelegateResourceToDRA); on a node that lists it the device plugin's count holds."""

from __future__ import annotations

from extender.cache.state import ClusterState
from extender.kube.objects import DEVICE_CLASS_RESOURCE_PREFIX
from tests.builders import cluster, device_class, node, pod
from tests.unit.engine.helpers import check, passing, weigh

GPU = "example.com/gpu"
FILTER = "PciPassthroughFilter"


def _cluster(*classes: str | tuple[str, str]) -> ClusterState:
    """Nodes: `dra` lists no GPU (its GPUs would be in ResourceSlices), `zero` lists 0,
    `full` has its 2 GPUs taken by a pod, `plugin` has 2 free; plus the DeviceClasses."""
    made = [device_class(*c) if isinstance(c, tuple) else device_class(c) for c in classes]
    return cluster(
        *made,
        node("dra"),
        node("zero", extended={GPU: "0"}),
        node("full", extended={GPU: "2"}),
        node("plugin", extended={GPU: "2"}),
        pod("taken", node_name="full", requests={GPU: "2"}),
    )


def test_a_dra_served_resource_passes_nodes_that_do_not_list_it() -> None:
    state = _cluster(("gpu.example.com", GPU))
    assert state.dra_extended == {GPU, DEVICE_CLASS_RESOURCE_PREFIX + "gpu.example.com"}
    gpu_pod = pod(requests={GPU: "1"})
    assert passing([FILTER], state, gpu_pod) == ["dra", "plugin", "zero"]
    assert check(FILTER, state, gpu_pod, "dra") is None
    # allocatable 0 is "not listed" for kube-scheduler too (allocatable > 0 keeps the check)
    assert check(FILTER, state, gpu_pod, "zero") is None


def test_a_node_that_lists_the_resource_is_checked_by_the_device_plugin_count() -> None:
    state = _cluster(("gpu.example.com", GPU))
    assert check(FILTER, state, pod(requests={GPU: "1"}), "full") == (
        f"{FILTER}: needs 1 {GPU}, more than free [node: {GPU} free 0 of 2]"
    )
    assert check(FILTER, state, pod(requests={GPU: "3"}), "plugin") == (
        f"{FILTER}: needs 3 {GPU}, more than free [node: {GPU} free 2 of 2]"
    )


def test_without_a_device_class_the_resource_is_a_device_plugin_resource() -> None:
    state = _cluster()
    gpu_pod = pod(requests={GPU: "1"})
    assert passing([FILTER], state, gpu_pod) == ["plugin"]
    assert check(FILTER, state, gpu_pod, "dra") == (
        f"{FILTER}: needs 1 {GPU}, more than free [node: {GPU} free 0 of 0]"
    )


def test_a_class_that_names_another_resource_does_not_serve_this_one() -> None:
    state = _cluster(("other.example.com", "example.com/fpga"))
    assert passing([FILTER], state, pod(requests={GPU: "1"})) == ["plugin"]


def test_the_implicit_device_class_resource_name() -> None:
    """Every class serves `deviceclass.resource.kubernetes.io/<class>`. The name is in
    kubernetes.io, so it is not a device request here (Kubernetes' IsExtendedResourceName
    says the same): the filter never rejects it, with or without the class, and
    kube-scheduler's NodeResourcesFit alone decides on it."""
    implicit = DEVICE_CLASS_RESOURCE_PREFIX + "gpu.example.com"
    state = _cluster("gpu.example.com")
    assert state.dra_extended == {implicit}
    assert passing([FILTER], state, pod(requests={implicit: "1", GPU: "1"})) == ["plugin"]
    everywhere = ["dra", "full", "plugin", "zero"]
    assert passing([FILTER], state, pod(requests={implicit: "2"})) == everywhere
    assert passing([FILTER], _cluster(), pod(requests={implicit: "2"})) == everywhere


def test_deleting_the_device_class_stops_the_skipping() -> None:
    state = _cluster(("gpu.example.com", GPU), ("spare.example.com", GPU))
    gpu_pod = pod(requests={GPU: "1"})
    state.delete_device_class("gpu.example.com")
    # another class still serves the name (kube-scheduler would pick the newer one)
    assert passing([FILTER], state, gpu_pod) == ["dra", "plugin", "zero"]
    state.delete_device_class("spare.example.com")
    assert state.dra_extended == frozenset()
    assert passing([FILTER], state, gpu_pod) == ["plugin"]


def test_a_changed_extended_resource_name_moves_the_skipping() -> None:
    state = _cluster(("gpu.example.com", "example.com/old"))
    assert passing([FILTER], state, pod(requests={GPU: "1"})) == ["plugin"]
    state.upsert_device_class(device_class("gpu.example.com", GPU))
    assert "example.com/old" not in state.dra_extended
    assert passing([FILTER], state, pod(requests={GPU: "1"})) == ["dra", "plugin", "zero"]
    assert passing([FILTER], state, pod(requests={"example.com/old": "1"})) == []


def test_pci_weigher_counts_listed_devices_only() -> None:
    """PCIWeigher reads node allocatable, not the pod: DRA devices (in ResourceSlices) are
    not counted, with or without a DeviceClass, so the ranking does not change."""
    with_class = weigh({"PCIWeigher": 1.0}, _cluster(("gpu.example.com", GPU)), pod())[1]
    assert with_class == weigh({"PCIWeigher": 1.0}, _cluster(), pod())[1]
