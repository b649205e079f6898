"""The burst: BURST pods of 1Gi created at once onto 5 nodes of 16Gi that RamFilter (ratio
0.5) lets hold 8 each. Only the extender's own accounting keeps the nodes within 8Gi:
kube-scheduler's NodeResourcesFit would let 16 through. Shared by the bind tests and the
replica tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from devtools.localcluster import ControlPlane

from .kube import (
    Weighbridge,
    create_pod,
    group_labels,
    make_node,
    pods_in,
    scheduler_config,
    scheduler_running,
    unique,
    wait_for,
)

RATIO = "weighbridge.io/ram-allocation-ratio"
BURST = 200
NODES = 5
LIMIT_MIB = 8192
FITS = NODES * LIMIT_MIB // 1024


@dataclass
class BurstResult:
    per_node_mib: dict[str, int]
    bound: int
    #: pods with no node and no PodScheduled=False condition saying why
    unexplained: list[str]
    #: PodScheduled messages of the pods left Pending
    messages: list[str] = field(repr=False)
    #: (seconds since the burst began, pods bound then), each time the count changed
    progress: list[tuple[float, int]] = field(repr=False)
    #: when each bound pod was bound (its PodScheduled condition, seconds since the epoch)
    bound_at: list[float] = field(repr=False, default_factory=list)

    @property
    def over_limit(self) -> dict[str, int]:
        return {n: used for n, used in self.per_node_mib.items() if used > LIMIT_MIB}


def mib(quantity: str) -> int:
    if quantity.endswith("Mi"):
        return int(quantity.removesuffix("Mi"))
    return int(quantity.removesuffix("Gi")) * 1024


def burst(
    plane: ControlPlane,
    replicas: Sequence[Weighbridge],
    namespace: str,
    *,
    url: str | None = None,
    bind: bool = True,
    during: Callable[[], None] | None = None,
    quiet_seconds: float = 5.0,
) -> BurstResult:
    """Create the burst with kube-scheduler calling `url` (the first replica's by default);
    `during()` is called once a tenth of the pods are created, while kube-scheduler places
    them (to kill or restart things). Settled: the bound count unchanged for
    `quiet_seconds` and every other pod marked."""
    labels = group_labels("burst")
    nodes = [unique("b") for _ in range(NODES)]
    for n in nodes:
        make_node(plane, n, memory="16Gi", labels=labels, annotations={RATIO: "0.5"})
    for wb in replicas:
        wb.wait_for_hosts(*nodes)
    start = time.monotonic()
    progress: list[tuple[float, int]] = []
    with scheduler_running(plane, scheduler_config(url or replicas[0].url, bind=bind)):
        for i in range(BURST):
            create_pod(plane, namespace, f"p{i:03d}", memory="1Gi", selector=labels)
            if during is not None and i == BURST // 10:
                during()

        def settled() -> bool:
            pods = pods_in(plane, namespace)
            now = sum(1 for p in pods if p["spec"].get("nodeName"))
            if not progress or progress[-1][1] != now:
                progress.append((time.monotonic() - start, now))
                return False
            quiet = time.monotonic() - start - progress[-1][0] >= quiet_seconds
            return quiet and not _unexplained(pods)

        wait_for("the burst to settle", settled, 240)
    per_node = dict.fromkeys(nodes, 0)
    pods = pods_in(plane, namespace)
    for p in pods:
        node = p["spec"].get("nodeName")
        if node:
            per_node[node] += mib(p["spec"]["containers"][0]["resources"]["requests"]["memory"])
    messages = [
        c.get("message", "")
        for p in pods
        if not p["spec"].get("nodeName")
        for c in p.get("status", {}).get("conditions", [])
        if c.get("type") == "PodScheduled"
    ]
    bound = sum(1 for p in pods if p["spec"].get("nodeName"))
    # Gone at once (no kubelet runs here to confirm a graceful deletion): the next test's
    # kube-scheduler must not keep retrying this burst's 160 Pending pods.
    plane.request("DELETE", f"/api/v1/namespaces/{namespace}/pods?gracePeriodSeconds=0")
    bound_at = sorted(
        epoch(c["lastTransitionTime"])
        for p in pods
        if p["spec"].get("nodeName")
        for c in p.get("status", {}).get("conditions", [])
        if c.get("type") == "PodScheduled" and c.get("status") == "True"
    )
    return BurstResult(per_node, bound, _unexplained(pods), messages, progress, bound_at)


def epoch(stamp: str) -> float:
    """A metav1.Time or MicroTime, in seconds since the epoch."""
    form = "%Y-%m-%dT%H:%M:%S.%f%z" if "." in stamp else "%Y-%m-%dT%H:%M:%S%z"
    return datetime.strptime(stamp, form).timestamp()


def _unexplained(pods: list[dict[str, object]]) -> list[str]:
    """Pending pods kube-scheduler has not (yet) marked unschedulable with a reason."""
    out = []
    for p in pods:
        spec = p["spec"]
        assert isinstance(spec, dict)
        if spec.get("nodeName"):
            continue
        status = p.get("status") or {}
        assert isinstance(status, dict)
        conditions = status.get("conditions") or []
        if not any(
            c.get("type") == "PodScheduled" and c.get("status") == "False" and c.get("message")
            for c in conditions
        ):
            meta = p["metadata"]
            assert isinstance(meta, dict)
            out.append(str(meta["name"]))
    return out
