"""Running the engine in the filter and weigher tests: one filter's verdict on one node
(asked of both the per-host rule and the scheduler's fast path), the engine's filtering and
weighing of a whole cluster, and the filter verb's answer.

Clusters and pods come from tests.builders; RequestSpecs from the pod against the cluster,
as the extender builds them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from extender.cache.state import ClusterState
from extender.engine.filters import FILTERS
from extender.engine.scheduler import DEFAULT_WEIGHERS, FilterResult, Scheduler, Weighing
from extender.engine.weighers import WEIGHERS
from extender.kube.objects import Pod
from extender.kube.wire import ExtenderArgs, ExtenderFilterResult
from extender.model.options import Options
from extender.service.extender import Extender
from tests.builders import request_spec


def scheduler(
    filters: Iterable[str] = (),
    weighers: Mapping[str, float] | None = None,
    options: Options | None = None,
) -> Scheduler:
    """A scheduler with these filters and weighers (by default Nova's weighers, which the
    soft server-group policies need enabled)."""
    chosen = DEFAULT_WEIGHERS if weighers is None else weighers
    return Scheduler(list(filters), chosen, options)


def run(
    filters: Iterable[str],
    state: ClusterState,
    the_pod: Pod,
    options: Options | None = None,
    names: Iterable[str] | None = None,
) -> FilterResult:
    """The engine's filtering of the cluster's nodes (all, or `names`) for this pod."""
    table = state.table
    rows, unknown = table.rows(None if names is None else list(names))
    assert not unknown, unknown
    return scheduler(filters, options=options).filter(table, rows, request_spec(state, the_pod))


def passing(
    filters: Iterable[str],
    state: ClusterState,
    the_pod: Pod,
    options: Options | None = None,
) -> list[str]:
    """The names of the nodes the filters pass, sorted."""
    result = run(filters, state, the_pod, options)
    return sorted(state.table.hosts[r].host for r in result.passed)


def check(
    name: str,
    state: ClusterState,
    the_pod: Pod,
    node_name: str,
    options: Options | None = None,
) -> str | None:
    """One filter's reason for rejecting one node (None: it passes), from Nova's per-host
    rule (`host_passes`); the scheduler, which takes the fast path where there is one, must
    agree and put the rejection where kube-scheduler reads it (resolvable or not)."""
    f = FILTERS[name](options or Options())
    spec = request_spec(state, the_pod)
    reason = f.host_passes(state.table[node_name], spec) if f.applies(spec) else None
    result = run([name], state, the_pod, options, names=[node_name])
    assert (len(result.passed) == 1) == (reason is None), "fast path and host_passes disagree"
    if reason is not None:
        curable = f.resolvable and f.resolvable_on(state.table[node_name])
        rejected = result.failed if curable else result.unresolvable
        assert rejected == {node_name: reason}
    return reason


def weigh(
    weighers: Mapping[str, float],
    state: ClusterState,
    the_pod: Pod,
    options: Options | None = None,
    names: Iterable[str] | None = None,
) -> tuple[Weighing, list[str]]:
    """The engine's weighing of the nodes (all, or `names`) for this pod, best first."""
    table = state.table
    rows, unknown = table.rows(None if names is None else list(names))
    assert not unknown, unknown
    spec = request_spec(state, the_pod)
    w = scheduler(weighers=weighers, options=options).weigh(table, rows, spec)
    return w, [table.hosts[r].host for r in w.rows]


def raw(weigher_name: str, state: ClusterState, the_pod: Pod, **kw: Any) -> list[float]:
    """A weigher's raw values for every node, in table order, through its per-host rule."""
    w = WEIGHERS[weigher_name](kw.pop("options", Options()), kw.pop("multiplier", 1.0))
    spec = request_spec(state, the_pod)
    return [w._weigh_object(h, spec) for h in state.table.hosts]


def extender_filter(
    state: ClusterState,
    the_pod: Pod,
    filters: Iterable[str],
    options: Options | None = None,
) -> ExtenderFilterResult:
    """What kube-scheduler gets back from the filter verb (names mode)."""
    names = [h.host for h in state.table.hosts]
    ext = Extender(state, scheduler(filters, options=options))
    args = ExtenderArgs(Pod=the_pod, Nodes=None, NodeNames=names)
    return asyncio.run(ext.filter(args, the_pod, names))
