"""The one builder of each Kubernetes object the tests use: Nodes, Pods, HostAggregates,
NodeResourceTopologies, DeviceClasses, and clusters of them.

`*_dict` builders write an object as the API server returns it (or, with `create_body`, as a
client sends it to be created); the others convert that dict into the extender's struct the
way the snapshot reader and the informers do (msgspec, strict=False), so every test also
exercises the label, annotation and quantity mapping. Unit tests use the structs; the HTTP
and end-to-end tests send the dicts.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from extender.cache.state import ClusterState
from extender.contract import AGGREGATE_LABEL_PREFIX, ZONE_LABEL
from extender.kube.objects import (
    KINDS,
    CacheObject,
    DeviceClass,
    HostAggregate,
    Node,
    NodeResourceTopology,
    Pod,
)
from extender.model.options import Options
from extender.model.request import RequestSpec, build_request_spec

_uids = itertools.count(1)

Quantities = Mapping[str, str | int | float]

#: The image of a pod's containers unless a test names one.
IMAGE = "registry.example/app:1.0"
#: Nothing runs pods in the end-to-end tests; the image is what a pause pod would name.
PAUSE = "registry.k8s.io/pause:3.10"


# -- Nodes -----------------------------------------------------------------------------------


def node_dict(
    name: str = "node-1",
    *,
    cpu: str | int | float = "8",
    memory: str = "32Gi",
    disk: str = "100Gi",
    pods: str | int = "110",
    extended: Quantities | None = None,
    ready: bool | None = True,
    unschedulable: bool = False,
    ip: str | None = "10.0.0.1",
    zone: str | None = None,
    aggregates: Iterable[str] = (),
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    arch: str = "amd64",
    os: str = "linux",
    runtime: str = "containerd://1.7.22",
    kubelet: str = "v1.31.2",
) -> dict[str, Any]:
    """A Node with the well-known labels and the status a kubelet writes; `ready=None`
    leaves out the Ready condition, `aggregates` are membership labels."""
    all_labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/arch": arch,
        "kubernetes.io/os": os,
        **(labels or {}),
    }
    if zone is not None:
        all_labels[ZONE_LABEL] = zone
    for agg in aggregates:
        all_labels[AGGREGATE_LABEL_PREFIX + agg] = "true"
    allocatable: dict[str, Any] = {
        "cpu": cpu,
        "memory": memory,
        "ephemeral-storage": disk,
        "pods": pods,
        **(extended or {}),
    }
    conditions = [{"type": "MemoryPressure", "status": "False"}]
    if ready is not None:
        conditions.append({"type": "Ready", "status": "True" if ready else "False"})
    addresses = [{"type": "Hostname", "address": name}]
    if ip is not None:
        addresses.append({"type": "InternalIP", "address": ip})
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": all_labels, "annotations": dict(annotations or {})},
        "spec": {"unschedulable": True} if unschedulable else {},
        "status": {
            "allocatable": allocatable,
            "capacity": allocatable,
            "conditions": conditions,
            "addresses": addresses,
            "nodeInfo": {
                "kubeletVersion": kubelet,
                "architecture": arch,
                "operatingSystem": os,
                "containerRuntimeVersion": runtime,
            },
        },
    }


def node(name: str = "node-1", **kwargs: Any) -> Node:
    return msgspec.convert(node_dict(name, **kwargs), Node, strict=False)


# -- Pods ------------------------------------------------------------------------------------


def container(
    requests: Quantities | None = None,
    limits: Quantities | None = None,
    *,
    name: str = "c",
    image: str = IMAGE,
    restart_policy: str | None = None,
) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "image": image}
    resources = {}
    if requests is not None:
        resources["requests"] = dict(requests)
    if limits is not None:
        resources["limits"] = dict(limits)
    if resources:
        c["resources"] = resources
    if restart_policy is not None:
        c["restartPolicy"] = restart_policy
    return c


def pod_dict(
    name: str | None = None,
    namespace: str = "default",
    *,
    uid: str | None = None,
    node_name: str | None = None,
    requests: Quantities | None = None,
    image: str = IMAGE,
    containers: list[dict[str, Any]] | None = None,
    init_containers: list[dict[str, Any]] | None = None,
    overhead: Quantities | None = None,
    pod_resources: Mapping[str, Quantities] | None = None,
    node_selector: Mapping[str, str] | None = None,
    priority_class: str | None = None,
    scheduler_name: str | None = None,
    phase: str | None = None,
    deleting: bool = False,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A Pod; `requests` is shorthand for one container with those requests. The phase is
    Running on a node and Pending before, unless given; annotation values that are not
    strings are written as JSON, as users do."""
    n = next(_uids)
    name = name or f"pod-{n}"
    if containers is None:
        containers = [container(requests, image=image)]
    spec: dict[str, Any] = {"containers": containers}
    if node_name:
        spec["nodeName"] = node_name
    if init_containers:
        spec["initContainers"] = init_containers
    if overhead is not None:
        spec["overhead"] = dict(overhead)
    if pod_resources is not None:
        spec["resources"] = {k: dict(v) for k, v in pod_resources.items()}
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    if priority_class is not None:
        spec["priorityClassName"] = priority_class
    if scheduler_name is not None:
        spec["schedulerName"] = scheduler_name
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": uid or f"uid-{name}-{n}",
        "labels": dict(labels or {}),
        "annotations": {
            k: v if isinstance(v, str) else json.dumps(v) for k, v in (annotations or {}).items()
        },
    }
    if deleting:
        meta["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": spec,
        "status": {"phase": phase or ("Running" if node_name else "Pending")},
    }


def pod(name: str | None = None, namespace: str = "default", **kwargs: Any) -> Pod:
    return msgspec.convert(pod_dict(name, namespace, **kwargs), Pod, strict=False)


# -- HostAggregates and NodeResourceTopologies -------------------------------------------------


def aggregate_dict(name: str, **metadata: str) -> dict[str, Any]:
    return {
        "apiVersion": "weighbridge.io/v1alpha1",
        "kind": "HostAggregate",
        "metadata": {"name": name},
        "spec": {"metadata": metadata},
    }


def aggregate(name: str, **metadata: str) -> HostAggregate:
    return msgspec.convert(aggregate_dict(name, **metadata), HostAggregate, strict=False)


def topology_dict(node_name: str, zones: Mapping[str, Quantities]) -> dict[str, Any]:
    """A NodeResourceTopology whose NUMA zones report `available` (and as much allocatable
    and capacity)."""
    return {
        "apiVersion": "topology.node.k8s.io/v1alpha2",
        "kind": "NodeResourceTopology",
        "metadata": {"name": node_name},
        "zones": [
            {
                "name": zone,
                "type": "Node",
                "resources": [
                    {"name": r, "capacity": q, "allocatable": q, "available": q}
                    for r, q in resources.items()
                ],
            }
            for zone, resources in zones.items()
        ],
    }


def topology(node_name: str, zones: Mapping[str, Quantities]) -> NodeResourceTopology:
    return msgspec.convert(topology_dict(node_name, zones), NodeResourceTopology, strict=False)


def device_class_dict(name: str, extended_resource_name: str | None = None) -> dict[str, Any]:
    """A DRA DeviceClass (resource.k8s.io/v1) with no selectors, serving
    `extended_resource_name` when given (and always its implicit name)."""
    spec = (
        {} if extended_resource_name is None else {"extendedResourceName": extended_resource_name}
    )
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "DeviceClass",
        "metadata": {"name": name},
        "spec": spec,
    }


def device_class(name: str, extended_resource_name: str | None = None) -> DeviceClass:
    return msgspec.convert(
        device_class_dict(name, extended_resource_name), DeviceClass, strict=False
    )


# -- conversions -----------------------------------------------------------------------------


def decode(obj: Mapping[str, Any]) -> CacheObject:
    """Any of the dicts above (or the API server's) as the extender's struct of its kind."""
    return msgspec.convert(obj, KINDS[obj["kind"]], strict=False)


def create_body(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object as a client creates it: without what the API server writes itself (the
    UID and the status)."""
    body = {k: v for k, v in obj.items() if k != "status"}
    body["metadata"] = {k: v for k, v in obj["metadata"].items() if k != "uid"}
    return body


def cluster(*objects: CacheObject, options: Options | None = None) -> ClusterState:
    """A ClusterState loaded with the objects as a snapshot is: aggregates, nodes,
    topologies, then pods, whatever the order given."""
    state = ClusterState(options)
    state.load(objects)
    return state


def request_spec(state: ClusterState, the_pod: Pod) -> RequestSpec:
    """The RequestSpec the extender builds for this pod against this cluster (its server
    group and its failed binds included)."""
    return build_request_spec(
        the_pod,
        groups=state.server_group,
        retries=state.retry_info,
        dra_extended=state.dra_extended,
    )
