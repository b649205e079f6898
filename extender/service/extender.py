"""The extender's verbs over the cluster view and the engine, free of HTTP.

A pod whose annotations are malformed is answered, not crashed on: every node is listed in
FailedAndUnresolvableNodes with a reason that names the annotation, which kube-scheduler
shows in the pod's FailedScheduling event.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from extender import telemetry
from extender.cache.state import ClusterState
from extender.engine.scheduler import FilterResult, Scheduler, Weighing
from extender.errors import AnnotationError, ObjectError
from extender.kube.objects import Pod
from extender.kube.pods import pod_name, pod_uid
from extender.kube.wire import (
    ExtenderArgs,
    ExtenderFilterResult,
    ExtenderPreemptionArgs,
    ExtenderPreemptionResult,
    HostPriority,
    MetaPod,
    MetaVictims,
    RawNodeList,
)
from extender.model.hoststate import HostState, PodInfo
from extender.model.request import RequestSpec, build_request_spec
from extender.model.table import IntArray
from extender.service.decisions import DecisionLog

UNKNOWN_NODE = "weighbridge: node {} is not in the extender's cache (yet)"
RECENT_PODS = 4096


@dataclass(slots=True)
class Decision:
    """Everything the engine did for one pod, for `explain` and the demo."""

    spec: RequestSpec
    candidates: int
    unknown: list[str]
    filtering: FilterResult
    weighing: Weighing


class Extender:
    """filter, prioritize and explain for one cluster view and one configuration."""

    def __init__(self, state: ClusterState, scheduler: Scheduler) -> None:
        self.state = state
        self.scheduler = scheduler
        #: pods recently filtered, so a bind can consume what they request even before the
        #: pod watch has shown them
        self.recent: OrderedDict[str, PodInfo] = OrderedDict()
        self.decisions = DecisionLog()

    def request_spec(self, pod: Pod) -> RequestSpec:
        return build_request_spec(
            pod, groups=self.state.server_group, retries=self.state.retry_info
        )

    def _remember(self, spec: RequestSpec) -> None:
        self.recent[spec.uid] = PodInfo(
            spec.uid,
            spec.project_id,
            spec.name,
            spec.resources,
            True,
            spec.labels,
            spec.flavor,
            spec.image_id,
        )
        self.recent.move_to_end(spec.uid)
        if len(self.recent) > RECENT_PODS:
            self.recent.popitem(last=False)

    def bind_failed(self, uid: str, node: str) -> None:
        """A bind to `node` failed for pod `uid`: RetryFilter and BuildFailureWeigher learn it."""
        self.recent.pop(uid, None)
        self.state.bind_failed(uid, node)

    def pod_info(self, uid: str) -> PodInfo | None:
        """What a pod being bound requests: from the pod watch, or from its filter call."""
        return self.state.pending.get(uid) or self.recent.get(uid)

    def filter(self, args: ExtenderArgs, pod: Pod, names: list[str]) -> ExtenderFilterResult:
        try:
            spec = self.request_spec(pod)
        except (AnnotationError, ObjectError) as exc:
            reason = f"weighbridge: {exc}"
            self.decisions.filtered(pod_uid(pod), pod_name(pod), len(names), reason)
            return _answer(args, names, [], {}, dict.fromkeys(names, reason))
        self._remember(spec)
        table = self.state.table
        rows, unknown = table.rows(names)
        result = self.scheduler.filter(table, rows, spec)
        telemetry.record_filtering(result)
        self.decisions.filtered(spec.uid, pod_name(pod), len(names), result)
        failed = result.failed
        for name in unknown:
            failed[name] = UNKNOWN_NODE.format(name)
        known = table.names
        passed = [known[r] for r in result.passed.tolist()]
        return _answer(args, names, passed, failed, result.unresolvable)

    def prioritize(self, pod: Pod, names: list[str]) -> list[HostPriority]:
        try:
            spec = self.request_spec(pod)
        except (AnnotationError, ObjectError):
            return [HostPriority(n, 0) for n in names]
        table = self.state.table
        rows, _ = table.rows(names)
        weighing = self.scheduler.weigh(table, rows, spec)
        telemetry.record_weighing(weighing)
        known = table.names
        hosts = [known[r] for r in weighing.rows.tolist()]
        scores = weighing.scores.tolist()
        self.decisions.prioritized(spec.uid, hosts, scores)
        return list(map(HostPriority, hosts, scores))

    def preempt(self, args: ExtenderPreemptionArgs, pod: Pod) -> ExtenderPreemptionResult:
        """Keep only candidate nodes our filters accept once their victims are gone.

        kube-scheduler's dry run ignores extender filters, so it may evict pods on a node we
        will reject anyway. The victims themselves are kept as given: the dry run already
        chose the fewest its own plugins need, and evicting fewer could leave the node
        infeasible for them.
        """
        try:
            spec = self.request_spec(pod)
        except (AnnotationError, ObjectError):
            telemetry.PREEMPTION_DECISIONS.labels("dropped").inc()
            return ExtenderPreemptionResult({})
        candidates: dict[str, MetaVictims] = {}
        if args.NodeNameToMetaVictims is not None:
            candidates = args.NodeNameToMetaVictims
        elif args.NodeNameToVictims is not None:
            candidates = {
                node: MetaVictims(
                    [MetaPod(p.metadata.uid) for p in victims.Pods or []],
                    victims.NumPDBViolations,
                )
                for node, victims in args.NodeNameToVictims.items()
            }
        kept: dict[str, MetaVictims] = {}
        for node, victims in candidates.items():
            host = self.state.table.get(node)
            uids = [v.UID for v in victims.Pods or []]
            if host is not None and self._passes_without(host, uids, spec):
                kept[node] = MetaVictims([MetaPod(u) for u in uids], victims.NumPDBViolations)
                telemetry.PREEMPTION_DECISIONS.labels("kept").inc()
            else:
                telemetry.PREEMPTION_DECISIONS.labels("dropped").inc()
        return ExtenderPreemptionResult(kept)

    def _passes_without(self, host: HostState, uids: list[str], spec: RequestSpec) -> bool:
        """Run the filters on `host` as if the victims were gone, then put them back."""
        table = self.state.table
        removed = [info for uid in uids if (info := host.remove_instance(uid)) is not None]
        table.write(host)
        try:
            result = self.scheduler.filter(table, np.array([host.row], dtype=np.intp), spec)
            return len(result.passed) == 1
        finally:
            for info in removed:
                host.add_instance(info)
            table.write(host)

    def decide(self, pod: Pod, names: list[str] | None = None) -> Decision:
        """Run the whole chain for a pod without reserving anything (what-if)."""
        spec = self.request_spec(pod)
        table = self.state.table
        rows, unknown = table.rows(names)
        filtering = self.scheduler.filter(table, rows, spec)
        weighing = self.scheduler.weigh(table, filtering.passed, spec)
        return Decision(spec, len(rows) + len(unknown), unknown, filtering, weighing)

    def host_names(self, rows: IntArray) -> list[str]:
        hosts = self.state.table.hosts
        return [hosts[r].host for r in rows]


def _answer(
    args: ExtenderArgs,
    names: list[str],
    passed: list[str],
    failed: dict[str, str],
    unresolvable: dict[str, str],
) -> ExtenderFilterResult:
    """Answer in the mode we were asked in: names for names, the same Nodes for Nodes
    (`names` are the names of `args.Nodes.items`, in order)."""
    for name in unresolvable:
        failed.pop(name, None)
    if args.NodeNames is not None or args.Nodes is None:
        return ExtenderFilterResult(None, passed, failed, unresolvable)
    keep = set(passed)
    kept = [raw for raw, name in zip(args.Nodes.items, names, strict=True) if name in keep]
    nodes = RawNodeList(kept, kind="NodeList", apiVersion="v1")
    return ExtenderFilterResult(nodes, None, failed, unresolvable)
