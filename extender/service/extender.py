"""The extender's verbs over the cluster view and the engine, free of HTTP.

Each verb is one method: the HTTP layer decodes a request, calls it and encodes what it
returns. The methods coordinate what one call involves: readiness, the bind barrier, the
engine, the decision log and the metrics.

A pod whose annotations are malformed is answered, not crashed on: every node is listed in
FailedAndUnresolvableNodes with a reason that names the annotation, which kube-scheduler
shows in the pod's FailedScheduling event.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from extender import telemetry
from extender.cache.kubeapi import ApiError
from extender.cache.state import ClusterState
from extender.engine.filters.base import cause_of
from extender.engine.scheduler import FilterResult, Scheduler, Weighing
from extender.errors import AnnotationError, NotSyncedError, ObjectError, WireError
from extender.kube.objects import Pod
from extender.kube.pods import pod_name, pod_uid
from extender.kube.wire import (
    ExtenderArgs,
    ExtenderBindingArgs,
    ExtenderBindingResult,
    ExtenderFilterResult,
    ExtenderPreemptionArgs,
    ExtenderPreemptionResult,
    HostPriority,
    MetaPod,
    MetaVictims,
    RawNodeList,
    binding_uid,
)
from extender.model.request import RequestSpec, build_request_spec
from extender.model.table import IntArray
from extender.service.binding import Binder
from extender.service.capacity import Capacity
from extender.service.decisions import DecisionLog
from extender.service.events import EventEmitter
from extender.service.explain import Decision, report
from extender.service.requeue import Requeuer

UNKNOWN_NODE = "weighbridge: node is not in the extender's cache (yet)"

Readiness = Callable[[], str | None]
"""Returns None when ready, else what is still missing."""


def always_ready() -> str | None:
    return None


SPECS_KEPT = 4096
"""Request specs of recently filtered pods kept for their bind's check (the rest are read
from the API again)."""


WEIGHINGS_KEPT = 64
"""Weighings done in filter calls and kept for the same pods' prioritize calls, at most
(kube-scheduler prioritizes right after it filters, one pod at a time per profile)."""


@dataclass(slots=True)
class _Weighed:
    """A pod's weighing from its filter call: valid for the same pod (resource version),
    the same nodes in the same order, while none of their rows changed after `version`."""

    resource_version: str
    names: list[str]
    rows: IntArray
    version: int
    hosts: list[str]
    scores: list[int]
    answer: list[HostPriority]


class Extender:
    """filter, prioritize, bind, preempt and explain for one cluster view and configuration.

    `binder` is given where there is a live cluster to bind in; without it the bind verb is
    not served and filter calls never wait. `active` is None while this replica may answer
    (docs/replicas.md); a standby answers every pod with no node and binds nothing.
    """

    def __init__(
        self,
        state: ClusterState,
        scheduler: Scheduler,
        readiness: Readiness = always_ready,
        binder: Binder | None = None,
        headroom: Capacity | None = None,
        active: Readiness = always_ready,
    ) -> None:
        self.state = state
        self.scheduler = scheduler
        self.readiness = readiness
        self.binder = binder
        self.headroom = headroom or Capacity(state, scheduler)
        self.active = active
        self.decisions = DecisionLog()
        #: set where Events can be written (a live cluster): told of every pod left with no node
        self.events: EventEmitter | None = None
        #: set where rejected pods are woken on changes only this extender sees
        self.requeue: Requeuer | None = None
        self._specs: OrderedDict[str, RequestSpec] = OrderedDict()
        self._weighed: OrderedDict[str, _Weighed] = OrderedDict()
        #: set by the first prioritize call: a scheduler that only filters never pays for it
        self._weighs_ahead = False

    def request_spec(self, pod: Pod) -> RequestSpec:
        return build_request_spec(
            pod,
            groups=self.state.server_group,
            retries=self.state.retry_info,
            dra_extended=self.state.dra_extended,
        )

    # -- the verbs -------------------------------------------------------------------------

    async def filter(self, args: ExtenderArgs, pod: Pod, names: list[str]) -> ExtenderFilterResult:
        """Filter after the binds this call must see (the bind barrier), then let the
        barrier know a bind for this pod may follow."""
        missing = self.readiness()
        if missing is not None:
            return ExtenderFilterResult(Error=f"weighbridge: not ready: {missing}")
        standby = self.active()
        if standby is not None:
            return _answer(args, names, [], {}, dict.fromkeys(names, f"weighbridge: {standby}"))
        if self.binder is None:
            return self._filter(args, pod, names)
        uid = pod_uid(pod)
        scheduler = pod.spec.scheduler_name
        await self.binder.barrier.wait(uid, scheduler)
        result = self._filter(args, pod, names)
        if result.NodeNames or (result.Nodes is not None and result.Nodes.items):
            self.binder.barrier.filtered(uid, scheduler)
        return result

    def _filter(self, args: ExtenderArgs, pod: Pod, names: list[str]) -> ExtenderFilterResult:
        try:
            spec = self.request_spec(pod)
        except (AnnotationError, ObjectError) as exc:
            reason = f"weighbridge: {exc}"
            self.decisions.filtered(pod_uid(pod), pod_name(pod), len(names), reason)
            return _answer(args, names, [], {}, dict.fromkeys(names, reason))
        self.state.expect(spec.as_instance())
        self._remember(spec)
        table = self.state.table
        rows, unknown = table.rows(names)
        result = self.scheduler.filter(table, rows, spec)
        _record_filtering(result)
        self.decisions.filtered(spec.uid, pod_name(pod), len(names), result)
        if self.events is not None and not len(result.passed):
            self.events.rejected(pod, result, len(names))
        if self.requeue is not None:
            if len(result.passed):
                self.requeue.passed(spec.uid)
            else:
                self.requeue.rejected(pod, result)
        failed = result.failed
        for name in unknown:
            failed[name] = UNKNOWN_NODE
        subset = self.scheduler.options.host_subset_size
        if 0 < subset < len(result.passed):
            best = self._best(spec, result.passed, subset)
            return _answer(args, names, best, failed, result.unresolvable)
        known = table.names
        passed = [known[r] for r in result.passed.tolist()]
        if self._weighs_ahead and len(passed) > 1:
            self._weigh_ahead(pod, spec, passed, result.passed)
        return _answer(args, names, passed, failed, result.unresolvable)

    def _best(self, spec: RequestSpec, rows: IntArray, subset: int) -> list[str]:
        """Nova's host_subset_size: only the `subset` best of the nodes that passed, best
        first. The others are left out of the answer, neither passed nor failed: they did
        not fail, and kube-scheduler drops a node an extender does not return. With one
        node left, kube-scheduler binds the pod there without scoring or prioritizing;
        with more, its scores (and ours, if it prioritizes) choose among them."""
        table = self.state.table
        weighing = self.scheduler.weigh(table, rows, spec)
        _record_weighing(weighing)
        known = table.names
        best = [known[r] for r in weighing.rows[:subset].tolist()]
        self.decisions.prioritized(spec.uid, best, weighing.scores[:subset].tolist())
        return best

    def _weigh_ahead(self, pod: Pod, spec: RequestSpec, names: list[str], rows: IntArray) -> None:
        """Weigh the nodes that passed now, while their rows are at hand: kube-scheduler's
        prioritize call for this pod names the same nodes, and gets this weighing if none
        of their rows changed in between (one pass per pod instead of two)."""
        kept = self._weighed
        kept[spec.uid] = self._weigh(pod, spec, names, rows)
        kept.move_to_end(spec.uid)
        if len(kept) > WEIGHINGS_KEPT:
            kept.popitem(last=False)

    def _weigh(self, pod: Pod, spec: RequestSpec, names: list[str], rows: IntArray) -> _Weighed:
        table = self.state.table
        version = table.version
        weighing = self.scheduler.weigh(table, rows, spec)
        _record_weighing(weighing)
        known = table.names
        hosts = [known[r] for r in weighing.rows.tolist()]
        scores = weighing.scores.tolist()
        answer = list(map(HostPriority, hosts, scores))
        return _Weighed(pod.metadata.resource_version, names, rows, version, hosts, scores, answer)

    def prioritize(self, pod: Pod, names: list[str]) -> list[HostPriority]:
        """The weighing the pod's filter call kept, while it holds; else weigh now."""
        missing = self.readiness()
        if missing is not None:
            raise NotSyncedError(f"weighbridge: not ready: {missing}")
        if self.active() is not None:
            return [HostPriority(n, 0) for n in names]
        self._weighs_ahead = True
        uid = pod_uid(pod)
        table = self.state.table
        kept = self._weighed.pop(uid, None)
        if (
            kept is None
            or kept.resource_version != pod.metadata.resource_version
            or kept.names != names
            or not table.unchanged(kept.rows, kept.version)
        ):
            try:
                spec = self.request_spec(pod)
            except (AnnotationError, ObjectError):
                return [HostPriority(n, 0) for n in names]
            kept = self._weigh(pod, spec, names, table.rows(names)[0])
        self.decisions.prioritized(uid, kept.hosts, kept.scores)
        return kept.answer

    async def bind(self, args: ExtenderBindingArgs) -> ExtenderBindingResult:
        """Nova's claim: bind only where the filters still pass the pod, on this replica's
        view with every assumption in it; every failure is a bind error, never a 500."""
        binder = self.binder
        if binder is None:
            raise WireError("this extender does not bind: it serves a snapshot, not a cluster")
        uid = binding_uid(args)
        result = await self._claim(binder, args, uid)
        self.decisions.bound(uid, args.Node, result.Error)
        return result

    async def _claim(
        self, binder: Binder, args: ExtenderBindingArgs, uid: str
    ) -> ExtenderBindingResult:
        standby = self.active()
        if standby is not None:
            return ExtenderBindingResult(Error=f"weighbridge: not bound: {standby}")
        if args.Node not in self.state.table.index:
            return binder.failed(args, "no such node in this extender's cache")
        spec = self._specs.get(uid)
        if spec is None:
            try:
                spec = self.request_spec(await binder.read_pod(args.PodNamespace, args.PodName))
            except (ApiError, AnnotationError, ObjectError) as exc:
                return binder.failed(args, f"cannot read the pod: {exc}")
        refusal = self._refusal(args.Node, spec)
        if refusal is not None:
            return binder.failed(args, refusal)
        return await binder.bind(args, spec.as_instance())

    def _remember(self, spec: RequestSpec) -> None:
        specs = self._specs
        specs[spec.uid] = spec
        specs.move_to_end(spec.uid)
        if len(specs) > SPECS_KEPT:
            specs.popitem(last=False)

    def _refusal(self, node: str, spec: RequestSpec) -> str | None:
        """Why the filters now reject `node` for this pod (None: they pass it). A pod the
        watch already shows on that node is not checked again."""
        placement = self.state.placements.get(spec.uid)
        if placement is not None and placement.node == node:
            return None
        table = self.state.table
        rows, _ = table.rows([node])
        result = self.scheduler.filter(table, rows, spec)
        if len(result.passed):
            return None
        reasons = {**result.failed, **result.unresolvable}
        return reasons.get(node, "rejected by the filters")

    def preempt(self, args: ExtenderPreemptionArgs, pod: Pod) -> ExtenderPreemptionResult:
        """Keep only candidate nodes our filters accept once their victims are gone.

        kube-scheduler's dry run ignores extender filters, so it may evict pods on a node we
        will reject anyway. The victims themselves are kept as given: the dry run already
        chose the fewest its own plugins need, and evicting fewer could leave the node
        infeasible for them. Nodes only our filters reject never get here (the dry run
        finds no victims there and kube-scheduler then asks no extender), which is why
        those filters report such rejections as unresolvable (docs/filters.md, "Res.").
        """
        if self.active() is not None:
            return ExtenderPreemptionResult({})
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
            uids = [v.UID for v in victims.Pods or []]
            if self._passes_without(node, uids, spec):
                kept[node] = MetaVictims([MetaPod(u) for u in uids], victims.NumPDBViolations)
                telemetry.PREEMPTION_DECISIONS.labels("kept").inc()
            else:
                telemetry.PREEMPTION_DECISIONS.labels("dropped").inc()
        return ExtenderPreemptionResult(kept)

    def _passes_without(self, node: str, uids: list[str], spec: RequestSpec) -> bool:
        """Run the filters on a what-if copy of `node` without the victims, after the live
        node: a rejection no eviction cures (one that needs the whole cluster's view, as
        tenant confinement does) ends it there."""
        live = self.state.table
        rows, _ = live.rows([node])
        if node in self.scheduler.filter(live, rows, spec).unresolvable:
            return False
        table = live.what_if(node, uids)
        if table is None:
            return False
        rows, _ = table.rows()
        return len(self.scheduler.filter(table, rows, spec).passed) == 1

    # -- read-only: what-if and inspection -------------------------------------------------

    def decide(self, pod: Pod, names: list[str] | None = None) -> Decision:
        """Run the whole chain for a pod without reserving anything (what-if)."""
        spec = self.request_spec(pod)
        table = self.state.table
        rows, unknown = table.rows(names)
        filtering = self.scheduler.filter(table, rows, spec)
        weighing = self.scheduler.weigh(table, filtering.passed, spec)
        return Decision(spec, len(rows) + len(unknown), unknown, filtering, weighing)

    def explain(self, pod: Pod, names: list[str] | None = None) -> dict[str, Any]:
        """`decide`, as the JSON report; a malformed pod is the caller's error."""
        try:
            decision = self.decide(pod, names)
        except (AnnotationError, ObjectError) as exc:
            raise WireError(str(exc)) from None
        return report(decision, self.scheduler, self.state.table.hosts)

    async def capacity(self, pod: Pod, maximum: int | None = None) -> dict[str, Any]:
        """How many more copies of `pod` fit, and where (read-only: nothing is reserved)."""
        return await self.headroom.count(pod, maximum)

    def hosts(self, name: str | None = None) -> dict[str, Any] | None:
        """Every HostState's summary, or one node's (None when the cache has no such node)."""
        state = self.state
        if name is None:
            hosts = {h.host: h.summary() for h in state.table.hosts}
            return {"hosts": hosts, "assumed": sorted(state.assumed)}
        host = state.table.get(name)
        return None if host is None else host.summary()

    def count_cache(self) -> None:
        """Set the cache-size gauges, for a scrape."""
        state = self.state
        telemetry.CACHE_OBJECTS.labels("nodes").set(state.node_count)
        telemetry.CACHE_OBJECTS.labels("pods").set(state.pod_count)
        telemetry.CACHE_OBJECTS.labels("aggregates").set(len(state.aggregates))


def _record_filtering(result: FilterResult) -> None:
    for step in result.steps:
        rejections, seconds = telemetry.filter_children(step.name)
        if step.rejected:
            rejections.inc(len(step.rejected))
        if step.seconds:
            seconds.observe(step.seconds)


def _record_weighing(weighing: Weighing) -> None:
    for name, seconds in weighing.seconds.items():
        telemetry.weigher_seconds(name).observe(seconds)


def _answer(
    args: ExtenderArgs,
    names: list[str],
    passed: list[str],
    failed: dict[str, str],
    unresolvable: dict[str, str],
) -> ExtenderFilterResult:
    """Answer in the mode we were asked in: names for names, the same Nodes for Nodes
    (`names` are the names of `args.Nodes.items`, in order). Each node's reason is cut to its
    cause, which kube-scheduler counts: its FailedScheduling message and the pod's condition
    then list each cause once, however many nodes it rejected."""
    for name in unresolvable:
        failed.pop(name, None)
    failed = {name: cause_of(why) for name, why in failed.items()}
    unresolvable = {name: cause_of(why) for name, why in unresolvable.items()}
    if args.NodeNames is not None or args.Nodes is None:
        return ExtenderFilterResult(None, passed, failed, unresolvable)
    keep = set(passed)
    kept = [raw for raw, name in zip(args.Nodes.items, names, strict=True) if name in keep]
    nodes = RawNodeList(kept, kind="NodeList", apiVersion="v1")
    return ExtenderFilterResult(nodes, None, failed, unresolvable)
