"""Waking pods this extender rejected when a change only it sees may let them fit.

kube-scheduler v1.36 marks a pod an extender rejected with the pseudo-plugin "Extender",
whose queueing hint answers Queue to every Pod, Node, PV, ... event, so any update of the
pod itself moves it out of the unschedulable pool (docs/troubleshooting.md, "Pods that wait
for kube-scheduler's flush"). It watches no HostAggregate, NodeResourceTopology or this
extender's assumptions and bind failures, so a change there waits for the pool's flush
(5 minutes). The filter verb records which filters rejected each pod left with no node;
ClusterState tells of each change (`changed`, O(1)); a background task matches changes to
the filters they may cure and patches the annotation `weighbridge.io/requeue` on those pods,
at most `max_per_second` in all and once per `min_interval_seconds` per pod.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from extender import telemetry
from extender.cache.kubeapi import ApiError
from extender.cache.state import Change, ClusterState
from extender.contract import REQUEUE_ANNOTATION
from extender.engine.filters import FILTERS
from extender.engine.scheduler import FilterResult
from extender.kube.objects import Pod, micro_time
from extender.kube.pods import pod_uid
from extender.service.config import RequeueSettings

log = logging.getLogger(__name__)

GONE = frozenset({404, 422})
"""The pod is deleted (404), or deleted and created again under its name: the patch's uid
then differs from the new pod's, which the API server refuses as a change of an immutable
field (422, "metadata.uid: ... field is immutable")."""

PODS_KEPT = 4096
"""Rejected pods remembered, at most (the oldest rejection is forgotten first)."""

_CAPACITY = frozenset(
    {
        "CoreFilter",
        "RamFilter",
        "DiskFilter",
        "ExactCoreFilter",
        "ExactRamFilter",
        "ExactDiskFilter",
        "AggregateCoreFilter",
        "AggregateRamFilter",
        "AggregateDiskFilter",
        "NumInstancesFilter",
        "AggregateNumInstancesFilter",
        "IoOpsFilter",
        "AggregateIoOpsFilter",
        "NUMATopologyFilter",
        "PciPassthroughFilter",
        "ServerGroupAntiAffinityFilter",
        "DifferentHostFilter",
    }
)
"""Filters that count what the pods on a host consume: an assumption dropped frees room."""

CURES: dict[Change, frozenset[str]] = {
    "aggregate": frozenset(n for n in FILTERS if n.startswith("Aggregate"))
    | {"AvailabilityZoneFilter"},
    "numa": frozenset({"NUMATopologyFilter"}),
    "assumption": _CAPACITY,
    "retry": frozenset({"RetryFilter"}),
    # kube-scheduler hears of DeviceClasses too, but does not move a pod the extender
    # rejected for one
    "device_class": frozenset({"PciPassthroughFilter"}),
}
"""For each change, the filters whose rejections it may turn into passes."""


class PodApi(Protocol):
    async def patch(self, path: str, body: dict[str, Any]) -> bytes: ...


@dataclass(slots=True)
class _Rejected:
    namespace: str
    name: str
    uid: str
    """The pod's metadata.uid: the wake-up patch carries it, so a pod deleted and created
    again under the same name is not woken for its predecessor's rejection."""
    filters: frozenset[str]
    woken: float = float("-inf")
    due: float | None = None


class Requeuer:
    """Remembers rejected pods (`rejected`, `passed`), hears changes (`changed`) and wakes
    the pods a change may cure in `run`. None of the three callbacks waits."""

    def __init__(
        self,
        api: PodApi,
        state: ClusterState,
        settings: RequeueSettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.state = state
        self.settings = settings
        self._clock = clock
        self._pods: OrderedDict[str, _Rejected] = OrderedDict()
        self._changes: set[Change] = set()
        self._wake = asyncio.Event()

    def rejected(self, pod: Pod, result: FilterResult) -> None:
        """The filters left `pod` with no node: remember which of them rejected nodes."""
        uid = pod_uid(pod)
        filters = frozenset(step.name for step in result.steps if step.rejected)
        kept = self._pods.get(uid)
        if kept is None:
            meta = pod.metadata
            self._pods[uid] = _Rejected(meta.namespace, meta.name, meta.uid, filters)
            if len(self._pods) > PODS_KEPT:
                self._pods.popitem(last=False)
        else:
            kept.filters = filters
            self._pods.move_to_end(uid)

    def passed(self, uid: str) -> None:
        """Some node passed the pod: nothing to wake it for."""
        self._pods.pop(uid, None)

    def changed(self, change: Change) -> None:
        """A change only this extender sees was applied; matched to pods in `run`."""
        self._changes.add(change)
        self._wake.set()

    def _mark(self, now: float) -> None:
        """Make the pods the accumulated changes may cure due, each no sooner than
        `min_interval_seconds` after its last wake."""
        if not self._changes:
            return
        cures = frozenset().union(*(CURES[c] for c in self._changes))
        self._changes.clear()
        interval = self.settings.min_interval_seconds
        for kept in self._pods.values():
            if kept.due is None and kept.filters & cures:
                kept.due = max(now, kept.woken + interval)

    def _next(self, now: float) -> tuple[str | None, float | None]:
        """The first pod due now, else how long until one is (None: none is waiting)."""
        self._mark(now)
        soonest: float | None = None
        for uid, kept in self._pods.items():
            if kept.due is None:
                continue
            if kept.due <= now:
                return uid, None
            soonest = kept.due if soonest is None else min(soonest, kept.due)
        return None, None if soonest is None else soonest - now

    async def run(self) -> None:
        """Wake due pods until cancelled, one per 1/max_per_second at most."""
        gap = 1.0 / self.settings.max_per_second
        while True:
            self._wake.clear()
            uid, wait = self._next(self._clock())
            if uid is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
                continue
            await self._wake_pod(uid, self._pods[uid])
            await asyncio.sleep(gap)

    async def _wake_pod(self, uid: str, kept: _Rejected) -> None:
        kept.due = None
        kept.woken = self._clock()
        state = self.state
        if uid not in state.pending or uid in state.placements:
            self._pods.pop(uid, None)  # bound or deleted since
            telemetry.REQUEUES.labels("gone").inc()
            return
        path = f"/api/v1/namespaces/{kept.namespace}/pods/{kept.name}"
        stamp = micro_time(datetime.now(UTC))
        meta: dict[str, Any] = {"annotations": {REQUEUE_ANNOTATION: stamp}}
        if kept.uid:
            meta["uid"] = kept.uid  # the API server refuses the patch if the uid differs
        try:
            await asyncio.wait_for(
                self.api.patch(path, {"metadata": meta}), self.settings.patch_timeout_seconds
            )
        except ApiError as exc:
            if exc.status in GONE:
                self._pods.pop(uid, None)
                telemetry.REQUEUES.labels("gone").inc()
                return
            self._failed(kept, str(exc))
            return
        except TimeoutError:
            self._failed(kept, "timeout")
            return
        telemetry.REQUEUES.labels("patched").inc()
        log.info("pod woken", extra={"pod": f"{kept.namespace}/{kept.name}", "uid": uid})

    def _failed(self, kept: _Rejected, error: str) -> None:
        telemetry.REQUEUES.labels("failed").inc()
        log.warning("pod not woken", extra={"pod": f"{kept.namespace}/{kept.name}", "error": error})
