"""Issue 14's "Must show", against the real kube-apiserver and kube-scheduler: a tenant
confined to its aggregate lands only there, and a high-priority pod that only
AggregateNumInstancesFilter rejects is told at once that preemption cannot help, with no
victim evicted.

Every test starts its own extender after creating its nodes, aggregates and running pods,
so the cache's first list holds them all (no race between the watches), and deletes the
pods it leaves pending so that later schedulers on the shared control plane ignore them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from devtools.localcluster import ControlPlane
from tests.builders import aggregate_dict

from .kube import (
    Weighbridge,
    create_namespace,
    create_pod,
    delete_pod,
    events_for,
    get_pod,
    group_labels,
    make_node,
    pods_in,
    priority_class,
    scheduler_config,
    scheduler_running,
    unique,
    wait_bound,
    wait_for,
)

pytestmark = pytest.mark.e2e

AGGREGATES = "/apis/weighbridge.io/v1alpha1/hostaggregates"
FILTERS = ["ComputeFilter", "RamFilter", "AggregateNumInstancesFilter"]


@contextmanager
def extender(
    plane: ControlPlane, work: Path, options: dict[str, Any], preempt: bool = False
) -> Iterator[Weighbridge]:
    """An extender with these options and kube-scheduler calling it."""
    config = {"filters": FILTERS, "weighers": {"RAMWeigher": 1.0}, "options": options}
    with (
        Weighbridge(plane.kubeconfig_path, config, work) as wb,
        scheduler_running(plane, scheduler_config(wb.url, preempt=preempt)),
    ):
        yield wb


def delete_pending(plane: ControlPlane, *namespaces: str) -> None:
    for namespace in namespaces:
        for pod in pods_in(plane, namespace):
            if not pod["spec"].get("nodeName"):
                delete_pod(plane, namespace, pod["metadata"]["name"])


def scheduling_message(plane: ControlPlane, namespace: str, name: str) -> str:
    """The pod's first FailedScheduling message (waited for)."""
    return wait_for(
        f"FailedScheduling of {name}",
        lambda: next(
            (m for m in events_for(plane, namespace, name) if "nodes are available" in m), ""
        ),
        30,
    )


def tenant_cluster(plane: ControlPlane, tenant: str) -> tuple[dict[str, str], list[str]]:
    """Four nodes: two small ones in an aggregate reserved for `tenant`, two large ones
    outside, which RAMWeigher and kube-scheduler's own scoring both prefer. Returns the
    nodes' selector and the aggregate's nodes."""
    plane.install_crds()
    labels = group_labels("tenant")
    aggregate = unique("tenant-agg")
    plane.request("POST", AGGREGATES, aggregate_dict(aggregate, filter_tenant_id=tenant))
    inside = [unique("in") for _ in range(2)]
    for node in inside:
        make_node(plane, node, memory="8Gi", labels=labels, aggregates=[aggregate])
    for _ in range(2):
        make_node(plane, unique("out"), memory="32Gi", labels=labels)
    return labels, inside


def place_tenant_pods(
    plane: ControlPlane, wb: Weighbridge, tenant: str, labels: dict[str, str], count: int = 4
) -> dict[str, str]:
    """Create `count` pods of the tenant one after the other; where each was bound."""
    placed: dict[str, str] = {}
    for i in range(count):
        name = f"tenant-{i}"
        create_pod(plane, tenant, name, memory="1Gi", selector=labels)
        placed[name] = wait_bound(plane, tenant, name, 30)
    [decision] = wb.get(f"/decisions?pod={tenant}/tenant-0")["decisions"]
    print(f"\ntenant pods: {placed}; first decision's filters: {decision['filters']}")
    assert {"name": "TenantAggregate", "in": 4, "out": 2} in decision["filters"]
    return placed


def test_tenant_confined_to_its_aggregate_lands_only_there(
    control_plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    labels, inside = tenant_cluster(control_plane, namespace)
    other = create_namespace(control_plane, unique("other"))
    options = {"limit_tenants_to_placement_aggregate": True}
    with extender(control_plane, tmp_path, options) as wb:
        placed = place_tenant_pods(control_plane, wb, namespace, labels)
        create_pod(control_plane, other, "free", memory="1Gi", selector=labels)
        free = wait_bound(control_plane, other, "free", 30)
        [decision] = wb.get(f"/decisions?pod={other}/free")["decisions"]
    print(f"other namespace's pod: {free}; its filters: {decision['filters']}")
    assert set(placed.values()) <= set(inside)
    assert free not in inside  # not confined: it goes to the large nodes, as weighed
    assert decision["passed"] == 4


def test_placement_aggregate_required_leaves_unnamed_tenants_nowhere(
    control_plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    labels, inside = tenant_cluster(control_plane, namespace)
    other = create_namespace(control_plane, unique("other"))
    options = {
        "limit_tenants_to_placement_aggregate": True,
        "placement_aggregate_required_for_tenants": True,
    }
    try:
        with extender(control_plane, tmp_path, options) as wb:
            placed = place_tenant_pods(control_plane, wb, namespace, labels)
            create_pod(control_plane, other, "homeless", memory="1Gi", selector=labels)
            message = scheduling_message(control_plane, other, "homeless")
        print(f"other namespace's pod: {message}")
        assert set(placed.values()) <= set(inside)
        assert f"no aggregate is reserved for namespace {other}" in message
        assert not get_pod(control_plane, other, "homeless")["spec"].get("nodeName")
    finally:
        delete_pending(control_plane, other)


def test_pod_count_rejection_is_unresolvable_and_evicts_nothing(
    control_plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    """Two nodes with memory to spare, full only by weighbridge's pod counts: one at the
    option's max_instances_per_host (2), one at its aggregate's (1). The preempt verb is
    configured; kube-scheduler must not preempt, and says so in the first event."""
    control_plane.install_crds()
    labels = group_labels("count")
    aggregate = unique("small")
    control_plane.request("POST", AGGREGATES, aggregate_dict(aggregate, max_instances_per_host="1"))
    by_option, by_aggregate = unique("opt"), unique("agg")
    make_node(control_plane, by_option, memory="16Gi", labels=labels)
    make_node(control_plane, by_aggregate, memory="16Gi", labels=labels, aggregates=[aggregate])
    low, high = priority_class(control_plane, 10), priority_class(control_plane, 1000)
    victims = {"low-0": by_option, "low-1": by_option, "low-2": by_aggregate}
    for name, node in victims.items():
        create_pod(control_plane, namespace, name, memory="1Gi", priority_class=low, node_name=node)
    options = {"max_instances_per_host": 2}
    try:
        with extender(control_plane, tmp_path, options, preempt=True) as wb:
            assert wb.get(f"/hosts/{by_option}")["num_instances"] == 2
            assert wb.get(f"/hosts/{by_aggregate}")["num_instances"] == 1
            created = time.monotonic()
            create_pod(
                control_plane, namespace, "vip", memory="1Gi", selector=labels, priority_class=high
            )
            message = scheduling_message(control_plane, namespace, "vip")
            seconds = time.monotonic() - created
            time.sleep(3)  # a few more attempts (backoff 1-2 s): still no preemption
            vip = get_pod(control_plane, namespace, "vip")
            after = {n: get_pod(control_plane, namespace, n) for n in victims}
            metrics = wb.metrics()
        print(f"\nvip's first FailedScheduling after {seconds:.1f}s: {message}")
        assert "Preemption is not helpful for scheduling" in message
        assert "No preemption victims found" not in message  # what a resolvable one says
        assert message.count("AggregateNumInstancesFilter: pods on the node reach") == 2
        assert "max_instances_per_host (2)" in message and "max_instances_per_host (1)" in message
        assert not vip["spec"].get("nodeName")
        assert not vip.get("status", {}).get("nominatedNodeName")
        for name, pod in after.items():
            assert pod["spec"]["nodeName"] == victims[name]
            assert "deletionTimestamp" not in pod["metadata"], name
        assert "weighbridge_preemption_decisions_total{" not in metrics
    finally:
        delete_pending(control_plane, namespace)
