"""The extender's verbs over the cluster view and the engine, free of HTTP.

A pod whose annotations are malformed is answered, not crashed on: every node is listed in
FailedAndUnresolvableNodes with a reason that names the annotation, which kube-scheduler
shows in the pod's FailedScheduling event.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import metrics
from .cache.state import ClusterState
from .columns import IntArray
from .errors import AnnotationError, ObjectError
from .objects import Pod
from .request import RequestSpec, build_request_spec
from .scheduler import FilterResult, Scheduler, Weighing
from .wire import ExtenderArgs, ExtenderFilterResult, HostPriority, RawNodeList

UNKNOWN_NODE = "weighbridge: node {} is not in the extender's cache (yet)"


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

    def request_spec(self, pod: Pod) -> RequestSpec:
        return build_request_spec(pod, groups=self.state.server_group)

    def filter(self, args: ExtenderArgs, pod: Pod, names: list[str]) -> ExtenderFilterResult:
        try:
            spec = self.request_spec(pod)
        except (AnnotationError, ObjectError) as exc:
            reason = f"weighbridge: {exc}"
            return _answer(args, names, [], {}, dict.fromkeys(names, reason))
        table = self.state.table
        rows, unknown = table.rows(names)
        result = self.scheduler.filter(table, rows, spec)
        metrics.record_filtering(result)
        failed = result.failed
        for name in unknown:
            failed[name] = UNKNOWN_NODE.format(name)
        hosts = table.hosts
        passed = [hosts[r].host for r in result.passed]
        return _answer(args, names, passed, failed, result.unresolvable)

    def prioritize(self, pod: Pod, names: list[str]) -> list[HostPriority]:
        try:
            spec = self.request_spec(pod)
        except (AnnotationError, ObjectError):
            return [HostPriority(n, 0) for n in names]
        table = self.state.table
        rows, _ = table.rows(names)
        weighing = self.scheduler.weigh(table, rows, spec)
        metrics.record_weighing(weighing)
        hosts = table.hosts
        return [
            HostPriority(hosts[r].host, int(s))
            for r, s in zip(weighing.rows.tolist(), weighing.scores.tolist(), strict=True)
        ]

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
