"""Capacity against reality: what POST /capacity says fits is what the real kube-scheduler,
with weighbridge in the loop, then places.

Three nodes of 16Gi in a zone of their own, with RamFilter's ratio at 0.5: each holds 8 pods
of 1Gi by weighbridge's rules (kube-scheduler alone would take 16). The count says 24; 26
such pods are then created at once: 24 are bound and 2 stay Pending with RamFilter's reason.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.localcluster import ControlPlane

from .kube import (
    Weighbridge,
    make_node,
    pod_body,
    pods_in,
    post_pod,
    scheduler_config,
    scheduler_running,
    unique,
    wait_for,
)

pytestmark = pytest.mark.e2e

CONFIG: dict[str, Any] = {
    "filters": ["ComputeFilter", "AvailabilityZoneFilter", "RamFilter"],
    "weighers": {"RAMWeigher": 1.0},
    "options": {"ram_allocation_ratio": 0.5},
}
ZONE_LABEL = "topology.kubernetes.io/zone"
EXTRA = 2


@pytest.fixture
def capacity_wb(control_plane: ControlPlane, tmp_path: Path) -> Iterator[Weighbridge]:
    with Weighbridge(control_plane.kubeconfig_path, CONFIG, tmp_path) as extender:
        yield extender


def pod_in(namespace: str, zone: str, name: str) -> dict[str, Any]:
    """A 1Gi pod for `zone`: weighbridge's zone filter and kube-scheduler's node selector
    agree on where it may go."""
    return pod_body(
        namespace,
        name,
        memory="1Gi",
        selector={ZONE_LABEL: zone},
        annotations={"weighbridge.io/availability-zone": zone},
    )


def pods_marked_unschedulable(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        p
        for p in pods
        if any(
            c.get("type") == "PodScheduled" and c.get("status") == "False"
            for c in p.get("status", {}).get("conditions", [])
        )
    ]


def test_capacity_count_is_what_kube_scheduler_places(
    control_plane: ControlPlane, capacity_wb: Weighbridge, namespace: str
) -> None:
    wb, plane = capacity_wb, control_plane
    zone = unique("zone")
    nodes = [unique("cap") for _ in range(3)]
    for name in nodes:
        make_node(plane, name, memory="16Gi", labels={ZONE_LABEL: zone})
    wb.wait_for_hosts(*nodes)

    status, report = wb.post("/capacity", {"Pod": pod_in(namespace, zone, "probe"), "Max": 100})
    assert status == 200, report
    fit = report["fit"]
    assert (fit, report["per_zone"], report["nodes"]) == (24, {zone: 24}, dict.fromkeys(nodes, 8))
    stopped = {s["name"]: s for s in report["first_not_fitting"]["filters"]}
    assert stopped["RamFilter"]["end"] == 0

    with scheduler_running(plane, scheduler_config(wb.url, bind=True)):
        for i in range(fit + EXTRA):
            post_pod(plane, pod_in(namespace, zone, f"p{i:02d}"))
        seen: dict[str, float] = {}

        def settled() -> bool:
            """The bound count unchanged for 5 s, and every other pod tried at least once (a
            slow first cycle must not pass for a settled one)."""
            pods = pods_in(plane, namespace)
            bound = sum(1 for p in pods if p["spec"].get("nodeName"))
            if bound + len(pods_marked_unschedulable(pods)) < len(pods):
                return False
            if seen.get("bound") != bound:
                seen.update(bound=bound, since=time.monotonic())
                return False
            return time.monotonic() - seen["since"] >= 5

        wait_for("the pods to settle", settled, 180)
    pods = pods_in(plane, namespace)
    bound = [p for p in pods if p["spec"].get("nodeName")]
    pending = [p for p in pods if not p["spec"].get("nodeName")]
    print(f"\ncapacity said {fit}; kube-scheduler bound {len(bound)}, {len(pending)} pending")
    assert (len(bound), len(pending)) == (fit, EXTRA)
    for p in pending:
        messages = [c.get("message", "") for c in p.get("status", {}).get("conditions", [])]
        assert any("RamFilter: needs 1024Mi" in m for m in messages), messages
