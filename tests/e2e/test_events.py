"""Issue 13: the Event weighbridge writes on a pod its filters leave with no node.

Against the real kube-apiserver and kube-scheduler. The nodes have room by
kube-scheduler's count (16Gi allocatable for a 12Gi pod) but not by RamFilter's (ratio 0.5),
so only the extender rejects the pod, on every node.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from devtools.localcluster import ControlPlane

from .burst import RATIO
from .kube import (
    Weighbridge,
    create_pod,
    group_labels,
    label_node,
    make_node,
    scheduler_config,
    scheduler_running,
    unique,
    wait_for,
)

pytestmark = pytest.mark.e2e

CONFIG: dict[str, Any] = {
    "filters": ["ComputeFilter", "RamFilter"],
    "weighers": {"RAMWeigher": 1.0},
    "events": {"min_interval_seconds": 1},
}


def _ours(plane: ControlPlane, namespace: str, pod: str) -> list[dict[str, Any]]:
    events = plane.request(
        "GET",
        f"/apis/events.k8s.io/v1/namespaces/{namespace}/events"
        f"?fieldSelector=regarding.name%3D{pod}",
    )["items"]
    return [e for e in events if e.get("reportingController") == "weighbridge"]


def test_a_pod_rejected_everywhere_gets_one_event_whose_series_counts_retries(
    control_plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    plane = control_plane
    labels = group_labels("ev")
    nodes = [unique("ev") for _ in range(3)]
    for n in nodes:
        make_node(plane, n, memory="16Gi", labels=labels, annotations={RATIO: "0.5"})
    with (
        Weighbridge(plane.kubeconfig_path, CONFIG, tmp_path) as wb,
        scheduler_running(plane, scheduler_config(wb.url)),
    ):
        pod = create_pod(plane, namespace, "too-big", memory="12Gi", selector=labels)
        (event,) = wait_for("weighbridge's Event", lambda: _ours(plane, namespace, "too-big"))
        print(f"\nnote: {event['note']!r}")
        assert event["regarding"]["uid"] == pod["metadata"]["uid"]
        assert (event["reason"], event["action"], event["type"]) == (
            "FilteredOut",
            "Scheduling",
            "Warning",
        )
        assert event["reportingInstance"]
        assert "RamFilter removed 3" in event["note"]
        assert "needs 12288Mi" in event["note"] and "closest " in event["note"]
        remedy = "fits there with 4096Mi more usable memory, or with a request of at most 8192Mi"
        assert f"(8192Mi usable): {remedy}" in event["note"]
        # Each node update requeues the pod; the same rejection is patched into the series
        # (the three nodes tie for the closest miss, and kube-scheduler sends them in a
        # different order each time: the summary must not change with it).

        def patched() -> dict[str, Any] | None:
            label_node(plane, nodes[0], {"poke": unique("p")})
            time.sleep(0.5)
            series: dict[str, Any] | None = _ours(plane, namespace, "too-big")[-1].get("series")
            return series if series and series["count"] >= 3 else None

        series = wait_for("the retries patched into the series", patched, 60)
        attempts = wb.get(f"/decisions?pod={namespace}/too-big")["decisions"][0]["attempt"]
        print(f"series: {series} after {attempts} filter calls")
        found = _ours(plane, namespace, "too-big")
        assert [e["metadata"]["name"] for e in found] == [event["metadata"]["name"]]
