"""Small builders of Kubernetes Node and Pod objects, and of a ClusterState from them.

They write the dicts a user or the API server would write and convert them into the
extender's structs the way the snapshot reader does (msgspec, strict=False), so a test
exercises the same decoding path as production.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from extender.cache.state import ClusterState
from extender.contract import AGGREGATE_LABEL_PREFIX, ZONE_LABEL
from extender.kube.objects import HostAggregate, Node, Pod
from extender.model.options import Options

_uids = itertools.count(1)

Resources = Mapping[str, str | int | float]


def node_dict(
    name: str = "node-1",
    *,
    cpu: str | int | float = "8",
    memory: str = "32Gi",
    disk: str = "100Gi",
    pods: str | int = "110",
    extended: Resources | None = None,
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
    """A Node as the API server returns it, with the well-known labels a kubelet sets;
    `ready=None` leaves out the Ready condition."""
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


def container(
    requests: Resources | None = None,
    limits: Resources | None = None,
    *,
    name: str = "c",
    image: str = "registry.example/app:1",
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
    *,
    namespace: str = "default",
    uid: str | None = None,
    node_name: str = "",
    requests: Resources | None = None,
    containers: list[dict[str, Any]] | None = None,
    init_containers: list[dict[str, Any]] | None = None,
    overhead: Resources | None = None,
    pod_resources: Mapping[str, Resources] | None = None,
    phase: str = "Running",
    deleting: bool = False,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A Pod; `requests` is shorthand for one container with those requests."""
    n = next(_uids)
    name = name or f"pod-{n}"
    if containers is None:
        containers = [container(requests)]
    spec: dict[str, Any] = {"containers": containers}
    if node_name:
        spec["nodeName"] = node_name
    if init_containers:
        spec["initContainers"] = init_containers
    if overhead is not None:
        spec["overhead"] = dict(overhead)
    if pod_resources is not None:
        spec["resources"] = {k: dict(v) for k, v in pod_resources.items()}
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": uid or f"uid-{name}-{n}",
        "labels": dict(labels or {}),
        "annotations": dict(annotations or {}),
    }
    if deleting:
        meta["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": spec,
        "status": {"phase": phase},
    }


def pod(name: str | None = None, **kwargs: Any) -> Pod:
    return msgspec.convert(pod_dict(name, **kwargs), Pod, strict=False)


def aggregate(name: str, **metadata: str) -> HostAggregate:
    return msgspec.convert(
        {"kind": "HostAggregate", "metadata": {"name": name}, "spec": {"metadata": metadata}},
        HostAggregate,
        strict=False,
    )


def cluster(
    nodes: Iterable[Node] = (),
    pods: Iterable[Pod] = (),
    aggregates: Iterable[HostAggregate] = (),
    options: Options | None = None,
) -> ClusterState:
    """A ClusterState fed in the snapshot's order: aggregates, nodes, pods."""
    state = ClusterState(options)
    state.load([*aggregates, *nodes, *pods])
    return state
