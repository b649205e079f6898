"""options.host_subset_size 1 against the real kube-apiserver and kube-scheduler: the filter
call answers only weighbridge's best node, so kube-scheduler binds the pod there without
scoring the nodes or calling prioritize (schedule_one.go: "When only one node after
predicate, just use it").

The nodes make kube-scheduler's own scores point elsewhere: the one RAMWeigher prefers (most
free memory) has little CPU, which NodeResourcesFit's LeastAllocated and
NodeResourcesBalancedAllocation score low, and the pods prefer another node by preferred
node affinity (NodeAffinity's score, weight 2). Had kube-scheduler scored, with the
extender's weight 1, that node would win; only the subset makes the pods land on the best.
The test runs its own extender and a kube-scheduler profile of its own, and confines its
pods to its own nodes by a label, so other tests' nodes and pods on the shared control
plane change nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from devtools.localcluster import ControlPlane

from .kube import (
    Weighbridge,
    delete_pod,
    group_labels,
    make_node,
    pod_body,
    post_pod,
    scheduler_config,
    scheduler_running,
    unique,
    wait_bound,
    wait_for,
)

pytestmark = pytest.mark.e2e

CONFIG = {
    "filters": ["ComputeFilter", "RamFilter"],
    "weighers": {"RAMWeigher": 1.0},
    "options": {"host_subset_size": 1},
}
PODS = 3


def calls(wb: Weighbridge, verb: str) -> float:
    """weighbridge_requests_total for `verb`, every status code summed (0 without a series)."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(wb.metrics())
        if family.name == "weighbridge_requests"
        for sample in family.samples
        if sample.name == "weighbridge_requests_total" and sample.labels.get("verb") == verb
    )


def preferring(node: str) -> dict[str, Any]:
    """A pod's affinity that prefers `node`: NodeAffinity's score, if kube-scheduler scores."""
    term = {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}
    preference = {"weight": 100, "preference": {"matchExpressions": [term]}}
    return {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [preference]}}


def test_subset_of_one_binds_on_the_best_node_without_prioritize(
    control_plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    labels = group_labels("subset")
    best, preferred, other = unique("subset-ram"), unique("subset-cpu"), unique("subset-cpu")
    make_node(control_plane, best, cpu="2", memory="64Gi", labels=labels)
    for node in (preferred, other):
        make_node(control_plane, node, cpu="16", memory="8Gi", labels=labels)
    profile = unique("subset")
    created: list[str] = []
    placed: dict[str, str] = {}
    try:
        with Weighbridge(control_plane.kubeconfig_path, CONFIG, tmp_path) as wb:
            wb.wait_for_hosts(best, preferred, other)
            scheduler = yaml.safe_load(scheduler_config(wb.url, weight=1))
            scheduler["profiles"] = [{"schedulerName": profile}]
            with scheduler_running(control_plane, yaml.safe_dump(scheduler)):
                for name in (f"subset-{i}" for i in range(PODS)):
                    body = pod_body(
                        namespace,
                        name,
                        cpu="500m",
                        memory="1Gi",
                        selector=labels,
                        scheduler_name=profile,
                    )
                    body["spec"]["affinity"] = preferring(preferred)
                    post_pod(control_plane, body)
                    created.append(name)
                    placed[name] = wait_bound(control_plane, namespace, name)
                wait_for("the filter calls counted", lambda: calls(wb, "filter") >= PODS)
                filters = calls(wb, "filter")
                prioritized = calls(wb, "prioritize")
        print(f"\nplaced: {placed}; filter calls: {filters}, prioritize calls: {prioritized}")
        assert set(placed.values()) == {best}
        assert prioritized == 0
    finally:
        for name in created:
            delete_pod(control_plane, namespace, name)
