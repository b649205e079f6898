"""Builders for the filter-catalogue tests: Kubernetes objects as the API server writes them.

Nodes, pods, HostAggregates and NodeResourceTopologies are written as dicts and decoded with
msgspec into the extender's structs (as the snapshot reader and the informers do); HostStates
come from a ClusterState fed with them, RequestSpecs from build_request_spec on the pod. So
every test also exercises the label, annotation and quantity mapping.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
from factories import node_dict

from extender.cache.state import ClusterState
from extender.engine.filters import FILTERS
from extender.engine.scheduler import DEFAULT_WEIGHERS, FilterResult, Scheduler, Weighing
from extender.engine.weighers import WEIGHERS
from extender.kube.objects import KINDS, HostAggregate, Node, NodeResourceTopology, Pod
from extender.kube.wire import ExtenderArgs, ExtenderFilterResult
from extender.model.hoststate import HostState
from extender.model.options import Options
from extender.model.request import RequestSpec, build_request_spec
from extender.service.extender import Extender

#: Nodes are the foundation's builder; the catalogue tests pass them around as dicts.
node = node_dict
_uids = itertools.count(1)

Quantities = Mapping[str, str | int | float]


def pod(
    name: str = "pod",
    namespace: str = "default",
    *,
    uid: str | None = None,
    node_name: str | None = None,
    requests: Quantities | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, Any] | None = None,
    image: str = "registry.example/app:1.0",
    phase: str = "Running",
) -> dict[str, Any]:
    """A pod; annotation values that are not strings are written as JSON, as users do."""
    ann = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (annotations or {}).items()}
    container: dict[str, Any] = {"name": "main", "image": image}
    if requests:
        container["resources"] = {"requests": dict(requests)}
    spec: dict[str, Any] = {"containers": [container]}
    if node_name is not None:
        spec["nodeName"] = node_name
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": uid or f"uid-{next(_uids)}",
            "labels": dict(labels or {}),
            "annotations": ann,
        },
        "spec": spec,
        "status": {"phase": phase if node_name is not None else "Pending"},
    }


def aggregate(name: str, **metadata: str) -> dict[str, Any]:
    return {
        "apiVersion": "weighbridge.io/v1alpha1",
        "kind": "HostAggregate",
        "metadata": {"name": name},
        "spec": {"metadata": metadata},
    }


def topology(node_name: str, zones: Mapping[str, Quantities]) -> dict[str, Any]:
    """A NodeResourceTopology whose zones report `available` (allocatable = capacity = 2x)."""
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


def decode(obj: Mapping[str, Any]) -> Node | Pod | HostAggregate | NodeResourceTopology:
    return msgspec.convert(obj, KINDS[obj["kind"]], strict=False)


def cluster(*objects: Mapping[str, Any], options: Options | None = None) -> ClusterState:
    """A ClusterState fed with the objects: aggregates, nodes, topologies, then pods."""
    state = ClusterState(options)
    state.load(decode(obj) for obj in objects)
    return state


def as_pod(obj: Mapping[str, Any]) -> Pod:
    decoded = decode(obj)
    assert isinstance(decoded, Pod)
    return decoded


def request(state: ClusterState, obj: Mapping[str, Any]) -> RequestSpec:
    """The RequestSpec the extender builds for this pod against this cluster."""
    return build_request_spec(as_pod(obj), groups=state.server_group, retries=state.retry_info)


def host(state: ClusterState, name: str) -> HostState:
    return state.table[name]


def check(
    name: str,
    state: ClusterState,
    obj: Mapping[str, Any],
    node_name: str,
    options: Options | None = None,
) -> str | None:
    """One filter's per-host rule (Nova's host_passes), for one node."""
    f = FILTERS[name](options or Options())
    spec = request(state, obj)
    return f.host_passes(host(state, node_name), spec) if f.applies(spec) else None


def scheduler(
    filters: Iterable[str] = (),
    weighers: Mapping[str, float] | None = None,
    options: Options | None = None,
) -> Scheduler:
    """A scheduler with these filters and weighers (by default Nova's weighers, which the
    soft server-group policies need enabled)."""
    chosen = DEFAULT_WEIGHERS if weighers is None else weighers
    return Scheduler(list(filters), chosen, options)


def run(
    filters: Iterable[str],
    state: ClusterState,
    obj: Mapping[str, Any],
    options: Options | None = None,
) -> FilterResult:
    """The engine's filtering of every node of the cluster for this pod."""
    table = state.table
    rows, _ = table.rows()
    return scheduler(filters, options=options).filter(table, rows, request(state, obj))


def passing(
    filters: Iterable[str],
    state: ClusterState,
    obj: Mapping[str, Any],
    options: Options | None = None,
) -> list[str]:
    result = run(filters, state, obj, options)
    return sorted(state.table.hosts[r].host for r in result.passed)


def weigh(
    weighers: Mapping[str, float],
    state: ClusterState,
    obj: Mapping[str, Any],
    options: Options | None = None,
    names: Iterable[str] | None = None,
) -> tuple[Weighing, list[str]]:
    """The engine's weighing of the nodes (all, or `names`) for this pod, best first."""
    table = state.table
    rows, _ = table.rows(None if names is None else list(names))
    w = scheduler(weighers=weighers, options=options).weigh(table, rows, request(state, obj))
    return w, [table.hosts[r].host for r in w.rows]


def raw(weigher_name: str, state: ClusterState, obj: Mapping[str, Any], **kw: Any) -> list[float]:
    """A weigher's raw values for every node, in table order, through its per-host rule."""
    w = WEIGHERS[weigher_name](kw.pop("options", Options()), kw.pop("multiplier", 1.0))
    spec = request(state, obj)
    return [w._weigh_object(h, spec) for h in state.table.hosts]


def extender_filter(
    state: ClusterState,
    obj: Mapping[str, Any],
    filters: Iterable[str],
    options: Options | None = None,
) -> ExtenderFilterResult:
    """What kube-scheduler gets back from the filter verb (names mode)."""
    names = [h.host for h in state.table.hosts]
    ext = Extender(state, scheduler(filters, options=options))
    args = ExtenderArgs(Pod=as_pod(obj), Nodes=None, NodeNames=names)
    return asyncio.run(ext.filter(args, as_pod(obj), names))
