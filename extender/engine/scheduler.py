"""The engine: Nova's get_filtered_hosts and get_weighed_hosts over the HostTable.

Runs synchronously inside one event-loop turn, so every request sees one consistent view of
the cache. It reports what each filter did (counts, reasons, time) and what each weigher
contributed; callers turn that into wire answers, metrics and `explain` output.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from extender.contract import (
    FORCE_HOSTS,
    IGNORE_HOSTS,
    SERVER_GROUP_POLICY,
)
from extender.engine.filters import FILTERS, BaseFilter
from extender.engine.filters.aggregates import aggregate_tenants
from extender.engine.weighers import WEIGHERS, BaseWeigher, normalize
from extender.errors import AnnotationError
from extender.model.options import Options
from extender.model.request import RequestSpec
from extender.model.table import FloatArray, HostTable, IntArray

MAX_SCORE = 10

#: Nova's default enabled_filters (Newton and Ocata), in Nova's order.
DEFAULT_FILTERS = [
    "RetryFilter",
    "AvailabilityZoneFilter",
    "RamFilter",
    "DiskFilter",
    "ComputeFilter",
    "ComputeCapabilitiesFilter",
    "ImagePropertiesFilter",
    "ServerGroupAntiAffinityFilter",
    "ServerGroupAffinityFilter",
]
#: Nova's all_weighers (as of 2025.1) with Nova's default multipliers, except
#: HypervisorVersionWeigher's (docs/filters.md says why 0 here); BuildFailureWeigher's million
#: makes any recent bind failure outweigh everything else. A weigher at 0 costs nothing
#: until an aggregate sets its multiplier key for some nodes.
DEFAULT_WEIGHERS = {
    "RAMWeigher": 1.0,
    "CPUWeigher": 1.0,
    "DiskWeigher": 1.0,
    "IoOpsWeigher": -1.0,
    "PCIWeigher": 1.0,
    "ServerGroupSoftAffinityWeigher": 1.0,
    "ServerGroupSoftAntiAffinityWeigher": 1.0,
    "MetricsWeigher": 1.0,
    "BuildFailureWeigher": 1_000_000.0,
    "NumInstancesWeigher": 0.0,
    "HypervisorVersionWeigher": 0.0,
    "ImagePropertiesWeigher": 0.0,
}

#: What each server-group policy needs enabled; Nova's conductor raises
#: UnsupportedPolicyException when it is not.
POLICY_NEEDS = {
    "affinity": "ServerGroupAffinityFilter",
    "anti-affinity": "ServerGroupAntiAffinityFilter",
    "soft-affinity": "ServerGroupSoftAffinityWeigher",
    "soft-anti-affinity": "ServerGroupSoftAntiAffinityWeigher",
}


@dataclass(slots=True)
class FilterStep:
    """One filter's work on one request (Nova logs "FilterA: (start: 3, end: 2)")."""

    name: str
    start: int
    end: int
    rejected: dict[str, str]
    seconds: float = 0.0


@dataclass(slots=True)
class FilterResult:
    passed: IntArray
    failed: dict[str, str] = field(default_factory=dict)
    unresolvable: dict[str, str] = field(default_factory=dict)
    steps: list[FilterStep] = field(default_factory=list)
    forced: bool = False


@dataclass(slots=True)
class Weighing:
    """Weighed hosts, best first: rows, summed weights, 0..10 scores, each weigher's share,
    and the sums the scores span (those of the weighers that told the hosts apart)."""

    rows: IntArray
    weights: FloatArray
    scores: IntArray
    contributions: dict[str, FloatArray]
    seconds: dict[str, float]
    bounds: tuple[float, float] = (0.0, 0.0)


class Scheduler:
    """Filters then weighers, as configured."""

    def __init__(
        self,
        filters: Sequence[str] = DEFAULT_FILTERS,
        weighers: Mapping[str, float] = DEFAULT_WEIGHERS,
        options: Options | None = None,
    ) -> None:
        options = options or Options()
        self.options = options
        self.filters: list[BaseFilter] = [FILTERS[n](options) for n in filters]
        self.weighers: list[BaseWeigher] = [WEIGHERS[n](options, m) for n, m in weighers.items()]
        self._lo = sum(min(0.0, w.multiplier) for w in self.weighers)
        self._enabled = {*filters, *weighers}
        self._hi = sum(max(0.0, w.multiplier) for w in self.weighers)

    # -- filtering -------------------------------------------------------------------------

    def filter(
        self, table: HostTable, rows: IntArray, spec: RequestSpec, reasons: bool = True
    ) -> FilterResult:
        """Nova's get_filtered_hosts over `rows`. With `reasons` False the vectorised filters
        do not word why they rejected hosts (their steps count them, without names): for
        callers that only need who passes, such as a capacity count's many copies."""
        result = FilterResult(rows)
        if self.options.limit_tenants_to_placement_aggregate:
            rows = self._require_tenant_aggregate(table, rows, spec, result)
            if len(rows) == 0:
                result.passed = rows
                return result
        if spec.ignore_hosts or spec.force_hosts:
            rows = self._force_and_ignore(table, rows, spec, result)
            if result.forced or len(rows) == 0:
                result.passed = rows
                return result
        hosts = table.hosts
        # The pod's own mistakes, found before any filter runs: every node refuses it.
        refusal = self._unsupported_policy(spec)
        engaged: list[bool] = []
        for f in self.filters:
            if refusal is not None:
                break
            try:
                engaged.append(f.applies(spec))
            except AnnotationError as exc:
                refusal = (f.name, f"{f.name}: {exc}")
        if refusal is not None:
            step, why = refusal
            refused = dict.fromkeys((hosts[r].host for r in rows), why)
            result.unresolvable.update(refused)
            result.steps.append(FilterStep(step, len(rows), 0, refused))
            result.passed = rows[:0]
            return result
        for f, applies in zip(self.filters, engaged, strict=True):
            start = len(rows)
            if not applies:
                result.steps.append(FilterStep(f.name, start, start, {}))
                continue
            t0 = time.perf_counter()
            mask = f.vector(table, rows, spec)
            rejected: dict[str, str] = {}
            if mask is None:
                keep: list[int] = []
                for r in rows.tolist():
                    reason = f.host_passes(hosts[r], spec)
                    if reason is None:
                        keep.append(r)
                    else:
                        rejected[hosts[r].host] = reason
                rows = np.array(keep, dtype=np.intp)
            else:
                out = rows[~mask]
                if reasons and len(out):
                    names = table.names
                    failing = [names[r] for r in out.tolist()]
                    rejected = dict(zip(failing, f.reasons(table, out, spec), strict=True))
                rows = rows[mask]
            if f.resolvable:
                for name, why in rejected.items():
                    curable = f.resolvable_on(table[name])
                    (result.failed if curable else result.unresolvable)[name] = why
            else:
                result.unresolvable.update(rejected)
            result.steps.append(
                FilterStep(f.name, start, len(rows), rejected, time.perf_counter() - t0)
            )
            if len(rows) == 0:
                break
        result.passed = rows
        return result

    def _unsupported_policy(self, spec: RequestSpec) -> tuple[str, str] | None:
        """A server-group policy whose filter or weigher is not enabled would be ignored
        silently; as Nova refuses such a request, the pod is told instead."""
        group = spec.instance_group
        for policy in group.policies if group is not None else ():
            needed = POLICY_NEEDS[policy]
            if needed not in self._enabled:
                return "ServerGroupPolicy", (
                    f"weighbridge: annotation {SERVER_GROUP_POLICY}: policy {policy!r} needs "
                    f"{needed}, which this scheduler does not enable"
                )
        return None

    def _require_tenant_aggregate(
        self, table: HostTable, rows: IntArray, spec: RequestSpec, result: FilterResult
    ) -> IntArray:
        """Nova's require_tenant_aggregate request filter (Rocky): a namespace that some
        aggregate names in `filter_tenant_id*` goes only to nodes of such aggregates; one
        that none names goes anywhere, or nowhere with
        placement_aggregate_required_for_tenants. Every node's aggregates are looked at,
        not only the candidates', as Nova asks the database for all of them."""
        hosts = table.hosts
        tenant = spec.project_id
        named: dict[int, bool] = {}
        mine: set[str] = set()
        for r in np.flatnonzero(table.aggregated[: len(hosts)]).tolist():
            for agg in hosts[r].aggregates:
                if id(agg) not in named:
                    named[id(agg)] = tenant in aggregate_tenants(agg)
                    if named[id(agg)]:
                        mine.add(agg.name)
        if mine:
            keep = [r for r in rows.tolist() if any(named[id(a)] for a in hosts[r].aggregates)]
            why = (
                f"TenantAggregate: namespace {tenant} is confined to aggregates "
                f"{', '.join(sorted(mine))} (limit_tenants_to_placement_aggregate)"
            )
        elif self.options.placement_aggregate_required_for_tenants:
            keep = []
            why = (
                f"TenantAggregate: no aggregate is reserved for namespace {tenant} "
                "(placement_aggregate_required_for_tenants)"
            )
        else:
            return rows
        kept = set(keep)
        rejected = {hosts[r].host: why for r in rows.tolist() if r not in kept}
        result.unresolvable.update(rejected)
        result.steps.append(FilterStep("TenantAggregate", len(rows), len(keep), rejected))
        return np.array(keep, dtype=np.intp)

    @staticmethod
    def _force_and_ignore(
        table: HostTable, rows: IntArray, spec: RequestSpec, result: FilterResult
    ) -> IntArray:
        """Nova's get_filtered_hosts: ignore first, then force (both case-insensitive);
        forced hosts skip the filters."""
        hosts = table.hosts
        if spec.ignore_hosts:
            ignore = {h.lower() for h in spec.ignore_hosts}
            keep = [r for r in rows if hosts[r].host.lower() not in ignore]
            rejected = {
                hosts[r].host: f"{IGNORE_HOSTS}: node is ignored"
                for r in rows
                if hosts[r].host.lower() in ignore
            }
            result.unresolvable.update(rejected)
            result.steps.append(FilterStep("IgnoreHosts", len(rows), len(keep), rejected))
            rows = np.array(keep, dtype=np.intp)
        if spec.force_hosts and len(rows):
            force = {h.lower() for h in spec.force_hosts}
            keep = [r for r in rows if hosts[r].host.lower() in force]
            rejected = {
                hosts[r].host: f"{FORCE_HOSTS}: node is not among the forced nodes"
                for r in rows
                if hosts[r].host.lower() not in force
            }
            result.unresolvable.update(rejected)
            result.steps.append(FilterStep("ForceHosts", len(rows), len(keep), rejected))
            result.forced = True
            rows = np.array(keep, dtype=np.intp)
        return rows

    # -- weighing --------------------------------------------------------------------------

    def weigh(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> Weighing:
        """Normalise each weigher per request, multiply by each host's multiplier (its
        aggregates' or the configured one), sum, sort (stable), score 0..10.

        The scores span the sums allowed by the weighers whose normalised values were not
        all zero: one that said nothing in this request (no group, no failures, equal
        values) does not widen the span, or BuildFailureWeigher's multiplier of a million
        would squash every other weigher's difference into the same score. A weigher
        whose multiplier differs per host widens the span by its lowest and highest
        multiplier, so every sum stays inside it and the mapping stays linear. When none
        told the hosts apart, the span of every weigher places their common weight.
        """
        weights = np.zeros(len(rows))
        contributions: dict[str, FloatArray] = {}
        seconds: dict[str, float] = {}
        lo = hi = 0.0
        told_apart = False
        if len(rows) > 1:
            tuned = _tuned(table, rows)
            for w in self.weighers:
                if not w.applies(spec):
                    continue
                t0 = time.perf_counter()
                multipliers = w.multipliers(table, rows, tuned)
                if not multipliers.any():
                    continue
                normalized = normalize(w.raw(table, rows, spec), w.minval, w.maxval)
                share = multipliers * normalized
                weights += share
                contributions[w.name] = share
                seconds[w.name] = time.perf_counter() - t0
                if normalized.any():
                    told_apart = True
                    lo += min(0.0, float(multipliers.min()))
                    hi += max(0.0, float(multipliers.max()))
        bounds = (lo, hi) if told_apart else self.score_bounds()
        order = np.argsort(-weights, kind="stable")
        weights = weights[order]
        return Weighing(
            rows[order],
            weights,
            self.scores(weights, bounds),
            {name: share[order] for name, share in contributions.items()},
            seconds,
            bounds,
        )

    def scores(self, weights: FloatArray, bounds: tuple[float, float] | None = None) -> IntArray:
        """Map summed weights linearly onto 0..10 between the lowest and highest sums the
        multipliers allow (`bounds`; by default those of every weigher): a score says how
        good a node is on the scale of the weighers, not its rank."""
        lo, hi = self.score_bounds() if bounds is None else bounds
        span = hi - lo
        if span <= 0 or len(weights) == 0:
            return np.zeros(len(weights), dtype=np.intp)
        scaled = np.floor((weights - lo) * (MAX_SCORE / span) + 0.5)
        return np.clip(scaled, 0, MAX_SCORE).astype(np.intp)

    def score_bounds(self) -> tuple[float, float]:
        return self._lo, self._hi


def _tuned(table: HostTable, rows: IntArray) -> IntArray:
    """Positions in `rows` of the hosts some of whose aggregates set a weight multiplier:
    only their multipliers can differ from the configured ones (the table keeps which
    rows those are, so a weighing does not walk every candidate's aggregates)."""
    tuned: IntArray = np.flatnonzero(table.tuned[rows])
    return tuned
