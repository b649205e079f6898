"""Issue 13: a pod rejected by the extender, then made to fit by a change only weighbridge
sees (a HostAggregate's ram_allocation_ratio raised), is bound within seconds when requeue
is on, and only at kube-scheduler's unschedulable-pods flush when it is off.

Against the real kube-apiserver and kube-scheduler. The pod's node selector makes
NodeAffinity reject every other node of the shared control plane, and AggregateRamFilter
(ratio 0.5: 8Gi usable of 16Gi) rejects the test's nodes for a 12Gi pod, so kube-scheduler
parks it in its unschedulable pool with both NodeAffinity and the pseudo-plugin "Extender"
as rejectors (docs/troubleshooting.md, "Pods that wait for kube-scheduler's flush").
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
import urllib.request
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest
import yaml

from devtools.localcluster import ControlPlane, ManagedProcess
from extender import telemetry
from extender.cache.kubeapi import KubeApi, load_configuration
from extender.cache.state import ClusterState
from extender.contract import REQUEUE_ANNOTATION
from extender.engine.scheduler import FilterResult, FilterStep
from extender.kube.objects import Pod
from extender.service.config import RequeueSettings
from extender.service.requeue import Requeuer
from tests.builders import aggregate_dict

from .kube import (
    Weighbridge,
    create_pod,
    delete_pod,
    get_pod,
    group_labels,
    make_node,
    node_of,
    pods_in,
    scheduler_config,
    unique,
    wait_bound,
    wait_for,
)

pytestmark = pytest.mark.e2e

AGGREGATES = "/apis/weighbridge.io/v1alpha1/hostaggregates"
FLUSH = 30
"""kube-scheduler's --pod-max-in-unschedulable-pods-duration for the run without requeue,
in seconds (5 minutes by default); its flush loop runs every 30 s."""


def _config(requeue: bool) -> dict[str, Any]:
    return {
        "filters": ["ComputeFilter", "AggregateRamFilter"],
        "weighers": {"RAMWeigher": 1.0},
        "requeue": {"enabled": requeue},
    }


def _parked(plane: ControlPlane, scheduler: ManagedProcess) -> bool:
    """True when kube-scheduler holds exactly one pod, in its unschedulable pool."""
    req = urllib.request.Request(plane.scheduler_url(scheduler) + "/metrics")
    req.add_header("Authorization", f"Bearer {plane.token}")
    context = ssl._create_unverified_context()
    with urllib.request.urlopen(req, context=context, timeout=10) as resp:
        text = resp.read().decode()
    queues = dict(re.findall(r'^scheduler_pending_pods\{queue="(\w+)"\} (\d+)', text, re.M))
    return queues.get("unschedulable") == "1" and queues.get("active") == "0"


def _rejected_then_fits(
    plane: ControlPlane, namespace: str, tmp_path: Path, requeue: bool, extra_args: list[str]
) -> float:
    """Park a pod, raise its aggregate's ratio; seconds from the change to the pod bound."""
    plane.install_crds()
    labels = group_labels("rq")
    agg = unique("rq-agg")
    plane.request("POST", AGGREGATES, aggregate_dict(agg, ram_allocation_ratio="0.5"))
    nodes = [unique("rq") for _ in range(2)]
    for n in nodes:
        make_node(plane, n, memory="16Gi", labels=labels, aggregates=[agg])
    with Weighbridge(plane.kubeconfig_path, _config(requeue), tmp_path) as wb:
        wb.wait_for_hosts(*nodes)
        # A profile of its own: this scheduler queues only this test's pod, whatever other
        # tests left Pending on the shared control plane, so "parked" means this pod.
        profile = unique("requeue")
        config = yaml.safe_load(scheduler_config(wb.url))
        config["profiles"] = [{"schedulerName": profile}]
        scheduler = plane.start_scheduler(yaml.safe_dump(config), extra_args=extra_args)
        try:
            create_pod(
                plane, namespace, "big", memory="12Gi", selector=labels, scheduler_name=profile
            )

            def unschedulable() -> bool:
                conditions = get_pod(plane, namespace, "big")["status"].get("conditions", [])
                return any(
                    c["type"] == "PodScheduled" and c.get("reason") == "Unschedulable"
                    for c in conditions
                )

            wait_for("the pod rejected", unschedulable, 30)
            wait_for("the pod parked", lambda: _parked(plane, scheduler), 30)
            time.sleep(3)  # past kube-scheduler's backoff (2 s here): nothing else moves it
            assert _parked(plane, scheduler) and not node_of(plane, namespace, "big")
            changed = time.monotonic()
            plane.request(
                "PATCH",
                f"{AGGREGATES}/{agg}",
                {"spec": {"metadata": {"ram_allocation_ratio": "1.0"}}},
            )
            if not requeue:
                time.sleep(10)
                assert not node_of(plane, namespace, "big"), "bound before the flush"
            wait_bound(plane, namespace, "big", timeout=2 * FLUSH + 30)
            return time.monotonic() - changed
        finally:
            plane.stop_scheduler(scheduler)


def test_requeue_binds_a_pod_seconds_after_its_aggregate_changes(
    control_plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    seconds = _rejected_then_fits(control_plane, namespace, tmp_path, True, [])
    print(f"\nrequeue on: bound {seconds:.1f} s after the HostAggregate change")
    assert seconds < 10


def test_without_requeue_the_pod_waits_for_the_flush(
    control_plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    flush = [f"--pod-max-in-unschedulable-pods-duration={FLUSH}s"]
    seconds = _rejected_then_fits(control_plane, namespace, tmp_path, False, flush)
    print(f"\nrequeue off (flush {FLUSH} s): bound {seconds:.1f} s after the change")
    assert seconds > 10


def test_a_pod_created_again_under_its_name_is_not_woken(
    control_plane: ControlPlane, namespace: str
) -> None:
    """The wake-up patch carries the rejected pod's uid: the real API server refuses it for
    a new pod of the same name, which keeps no stray annotation, and the Requeuer forgets
    the pod as gone."""
    plane = control_plane
    labels = group_labels("rq-uid")
    old = create_pod(plane, namespace, "again", memory="1Gi", selector=labels)
    state = ClusterState()
    state.upsert_pod(msgspec.convert(old, Pod, strict=False))
    api = KubeApi(load_configuration(str(plane.kubeconfig_path)))
    requeuer = Requeuer(api, state, RequeueSettings(enabled=True, min_interval_seconds=0))
    steps = [FilterStep("AggregateRamFilter", 1, 0, {"n": "AggregateRamFilter: no"})]
    rejected = FilterResult(np.array([], dtype=np.intp), failed={"n": "no"}, steps=steps)
    requeuer.rejected(msgspec.convert(old, Pod, strict=False), rejected)
    delete_pod(plane, namespace, "again")
    wait_for("the pod deleted", lambda: not pods_in(plane, namespace), 30)
    new = create_pod(plane, namespace, "again", memory="1Gi", selector=labels)
    assert new["metadata"]["uid"] != old["metadata"]["uid"]
    gone = telemetry.REQUEUES.labels("gone")._value.get()

    async def wake() -> None:
        task = asyncio.create_task(requeuer.run())
        requeuer.changed("aggregate")
        await asyncio.sleep(2)
        task.cancel()
        await api.close()

    asyncio.run(wake())
    annotations = get_pod(plane, namespace, "again")["metadata"].get("annotations") or {}
    assert REQUEUE_ANNOTATION not in annotations
    assert telemetry.REQUEUES.labels("gone")._value.get() == gone + 1
