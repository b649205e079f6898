"""DRA extended resources (KEP-5004, DRAExtendedResource, on by default in v1.36) against the
real kube-apiserver and kube-scheduler: a DeviceClass created through the API reaches the
extender's cache, and PciPassthroughFilter then leaves the resource it serves to DRA on a
node that does not list it, as kube-scheduler's NodeResourcesFit does; deleting the class
brings the device-plugin check back. With kube-scheduler, a pod asking for such a resource
is placed on the node whose ResourceSlice has the device, weighbridge in the loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from devtools.localcluster import ApiError, ControlPlane
from tests.builders import PAUSE, container, create_body, device_class_dict, pod_dict

from .kube import (
    Weighbridge,
    delete_pod,
    get_pod,
    group_labels,
    make_node,
    post_pod,
    scheduler_config,
    scheduler_running,
    unique,
    wait_bound,
    wait_for,
)

pytestmark = pytest.mark.e2e

DEVICE_CLASSES = "/apis/resource.k8s.io/v1/deviceclasses"
RESOURCE_SLICES = "/apis/resource.k8s.io/v1/resourceslices"
CONFIG: dict[str, Any] = {
    "filters": ["ComputeFilter", "RamFilter", "PciPassthroughFilter"],
    "weighers": {"RAMWeigher": 1.0},
}


@contextmanager
def created(plane: ControlPlane, path: str, body: dict[str, Any]) -> Iterator[str]:
    """A cluster-scoped object for the block's length (DeviceClass, ResourceSlice)."""
    name = body["metadata"]["name"]
    plane.request("POST", path, body)
    try:
        yield name
    finally:
        try:
            plane.request("DELETE", f"{path}/{name}")
        except ApiError as exc:
            if exc.status != 404:
                raise


def gpu_pod(namespace: str, name: str, resource: str, **kw: Any) -> dict[str, Any]:
    """A pause pod asking for one `resource` (an extended resource needs limits = requests)."""
    wanted = {"cpu": "100m", "memory": "256Mi", resource: "1"}
    only = container(wanted, {resource: "1"}, image=PAUSE)
    return create_body(pod_dict(name, namespace, containers=[only], **kw))


def verdict(wb: Weighbridge, pod: dict[str, Any], node: str) -> str | None:
    """The extender's filter answer for `pod` on `node`: None when it passes, else why not."""
    status, answer = wb.post("/filter", {"Pod": pod, "NodeNames": [node], "Nodes": None})
    assert status == 200 and not answer.get("Error"), answer
    if answer["NodeNames"] == [node]:
        return None
    failed = {**(answer["FailedNodes"] or {}), **(answer["FailedAndUnresolvableNodes"] or {})}
    return str(failed[node])


def test_a_device_class_lets_its_resource_pass_nodes_that_do_not_list_it(
    control_plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    resource = f"example.com/{unique('gpu')}"
    plain, plugin = unique("plain"), unique("plugin")
    make_node(control_plane, plain)
    make_node(control_plane, plugin, extended={resource: "0"})
    pod = gpu_pod(namespace, "asks", resource, scheduler_name="nobody")
    cls = device_class_dict(unique("gpu-class"), resource)
    with (
        created(control_plane, DEVICE_CLASSES, cls) as name,
        Weighbridge(control_plane.kubeconfig_path, CONFIG, tmp_path) as wb,
    ):
        wb.wait_for_hosts(plain, plugin)
        # listed by the first LIST: left to DRA where the node does not list it ...
        assert verdict(wb, pod, plain) is None
        assert verdict(wb, pod, plugin) is None  # allocatable 0 counts as not listed
        control_plane.request("DELETE", f"{DEVICE_CLASSES}/{name}")
        # ... and, once the watch shows the class gone, the device-plugin check is back
        why = wait_for("the deletion seen", lambda: verdict(wb, pod, plain), 30)
        assert f"PciPassthroughFilter: needs 1 {resource}, more than free" in why
        # a class created while running arrives by the watch
        again = device_class_dict(unique("gpu-class"), resource)
        with created(control_plane, DEVICE_CLASSES, again):
            wait_for("the new class seen", lambda: verdict(wb, pod, plain) is None, 30)


def test_kube_scheduler_places_a_dra_extended_resource_pod_through_weighbridge(
    control_plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    """The pod asks for `example.com/<x>: 1`; no node lists it; the DeviceClass serves it
    and the DRA node's ResourceSlice has one device (a driver of the test's own; nothing
    runs there, binding is all that is asked). kube-scheduler's DynamicResources allocates
    it there and weighbridge, in the loop, does not reject the node."""
    labels = group_labels("dra")
    resource = f"example.com/{unique('gpu')}"
    dra_node, other = unique("dra"), unique("nodev")
    for node in (dra_node, other):
        make_node(control_plane, node, memory="64Gi", labels=labels)
    driver = f"{unique('drv')}.e2e.weighbridge.io"
    slice_ = {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceSlice",
        "metadata": {"name": unique("slice")},
        "spec": {
            "driver": driver,
            "nodeName": dra_node,
            "pool": {"name": dra_node, "generation": 1, "resourceSliceCount": 1},
            "devices": [{"name": "gpu-0"}],
        },
    }
    cls = device_class_dict(unique("gpu-class"), resource)
    cls["spec"]["selectors"] = [{"cel": {"expression": f'device.driver == "{driver}"'}}]
    with (
        created(control_plane, DEVICE_CLASSES, cls),
        created(control_plane, RESOURCE_SLICES, slice_),
        Weighbridge(control_plane.kubeconfig_path, CONFIG, tmp_path) as wb,
        scheduler_running(control_plane, scheduler_config(wb.url)),
    ):
        post_pod(control_plane, gpu_pod(namespace, "dra-pod", resource, node_selector=labels))
        try:
            assert wait_bound(control_plane, namespace, "dra-pod", 60) == dra_node
            [decision] = wb.get(f"/decisions?pod={namespace}/dra-pod")["decisions"]
            # kube-scheduler's DRA filter left only the DRA node; weighbridge removed nothing
            assert (decision["candidates"], decision["passed"], decision["filters"]) == (1, 1, [])
            # and DRA, not a device plugin, holds the device: the claim kube-scheduler made
            status = get_pod(control_plane, namespace, "dra-pod")["status"]
            claim = status["extendedResourceClaimStatus"]["resourceClaimName"]
            allocated = control_plane.request(
                "GET", f"/apis/resource.k8s.io/v1/namespaces/{namespace}/resourceclaims/{claim}"
            )["status"]["allocation"]["devices"]["results"]
            assert [(r["driver"], r["device"]) for r in allocated] == [(driver, "gpu-0")]
        finally:
            delete_pod(control_plane, namespace, "dra-pod")
