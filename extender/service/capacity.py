"""How many more copies of a pod fit, and where: the same filters and weighers, placed one
copy after another on a copy of the HostTable.

Each copy goes through what kube-scheduler with weighbridge would do: weighbridge's filters,
then kube-scheduler's NodeResourcesFit (modelled over the same columns, since it bounds
every placement whatever the extender says), then the best weighed node, which the copy
then consumes (Nova's consume_from_request). Copies of a pod in a server group count as
members of that group, so anti-affinity and affinity hold across them. The live cache is
never touched: the simulation runs on `HostTable.copy()`.

Not modelled, and said so in every answer: kube-scheduler's other plugins (taints and
tolerations, node affinity and selectors, inter-pod affinity, topology spread, volumes,
ports), its own scores (it may pick another node among those that fit, which changes where
copies land but not, for capacity-only rules, how many fit), and pods of other owners
arriving meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import msgspec
import numpy as np

from extender import telemetry
from extender.cache.state import ClusterState
from extender.contract import CPU, EPHEMERAL, MEMORY
from extender.engine.scheduler import FilterResult, FilterStep, Scheduler
from extender.errors import AnnotationError, BusyError, ObjectError, WireError
from extender.kube.objects import Pod
from extender.model.request import RequestSpec, build_request_spec
from extender.model.table import BoolArray, HostTable, IntArray
from extender.service.config import CapacitySettings
from extender.service.explain import render_steps, request_summary

log = logging.getLogger(__name__)

#: how long a request waits for a running count before it is refused (a count of a few
#: hundred copies at 5,000 nodes takes about a third of a second)
BUSY_WAIT_SECONDS = 5.0
#: the name of the modelled kube-scheduler plugin in steps and reasons
NODE_RESOURCES_FIT = "NodeResourcesFit"
MODELLED = (
    "weighbridge's filters and weighers as configured, then kube-scheduler's "
    "NodeResourcesFit (cpu, memory, ephemeral-storage, extended resources, pod count)"
)
NOT_MODELLED = (
    "kube-scheduler's other plugins (taints and tolerations, node affinity and selectors, "
    "inter-pod affinity, topology spread, volumes, ports) and its own scores"
)


@dataclass(slots=True)
class Headroom:
    """Where each copy landed, in order, and why the first copy that did not fit did not
    (None when the count stopped at its maximum)."""

    spec: RequestSpec
    placed: list[str]
    zones: Counter[str] = field(default_factory=Counter)
    aggregates: Counter[str] = field(default_factory=Counter)
    stopped: FilterResult | None = None
    candidates: int = 0

    def as_report(self, maximum: int) -> dict[str, Any]:
        """A JSON-ready account (POST /capacity, `weighbridge capacity --json`)."""
        stopped = self.stopped
        return {
            "request": request_summary(self.spec),
            "fit": len(self.placed),
            "max": maximum,
            "stopped_by_max": stopped is None,
            "per_zone": dict(sorted(self.zones.items())),
            "per_aggregate": dict(sorted(self.aggregates.items())),
            "nodes": dict(Counter(self.placed).most_common()),
            "order": self.placed,
            "first_not_fitting": None
            if stopped is None
            else {
                "candidates": self.candidates,
                "filters": [
                    {"name": s.name, "start": s.start, "end": s.end, "rejected": s.rejected}
                    for s in stopped.steps
                ],
            },
            "models": MODELLED,
            "does_not_model": NOT_MODELLED,
        }


class Capacity:
    """Headroom counts over the live cache: on request (POST /capacity) and periodically for
    the configured shapes (weighbridge_capacity_pods). One count runs at a time (a request
    waits up to `wait_seconds` for the one running, then is refused); each takes
    a copy of the table inside one event-loop turn (a consistent view) and places its
    copies in a worker thread, so the verbs keep answering meanwhile."""

    def __init__(
        self,
        state: ClusterState,
        scheduler: Scheduler,
        settings: CapacitySettings | None = None,
        default_zone: str = "nova",
    ) -> None:
        self.state = state
        self.scheduler = scheduler
        self.settings = settings or CapacitySettings()
        self.default_zone = default_zone
        self._running = asyncio.Lock()
        #: how long a request waits for a running count (another request's, or the
        #: shapes') to finish before it is refused
        self.wait_seconds = BUSY_WAIT_SECONDS
        #: the (zone, aggregate) series exported per shape, to remove those that go
        self._exported: dict[str, set[tuple[str, str]]] = {}

    def spec(self, pod: Pod) -> RequestSpec:
        """The pod as the filters see it, with its server group from the cache; no retry
        memory (the copies are new pods)."""
        return build_request_spec(
            pod, groups=self.state.server_group, dra_extended=self.state.dra_extended
        )

    def _request(self, pod: Pod, maximum: int | None) -> tuple[RequestSpec, int]:
        limit = self.settings.max_copies
        if maximum is not None and maximum > limit:
            raise WireError(f"Max={maximum}: at most capacity.max_copies={limit} per count")
        try:
            return self.spec(pod), maximum or limit
        except (AnnotationError, ObjectError) as exc:
            raise WireError(str(exc)) from None

    def count_now(self, pod: Pod, maximum: int | None = None) -> dict[str, Any]:
        """How many more copies of `pod` fit, counted in the caller's thread (the CLI)."""
        spec, maximum = self._request(pod, maximum)
        table = self.state.table.copy()
        return count(table, self.scheduler, spec, maximum, self.default_zone).as_report(maximum)

    async def count(self, pod: Pod, maximum: int | None = None) -> dict[str, Any]:
        """How many more copies of `pod` fit (POST /capacity); refused while another count
        runs, and above the configured maximum."""
        spec, maximum = self._request(pod, maximum)
        try:
            await asyncio.wait_for(self._running.acquire(), self.wait_seconds)
        except TimeoutError:
            raise BusyError(
                f"another capacity count has been running for {self.wait_seconds:g} s; "
                "try again shortly"
            ) from None
        try:
            headroom = await self._count(spec, maximum)
        finally:
            self._running.release()
        return headroom.as_report(maximum)

    async def _count(self, spec: RequestSpec, maximum: int) -> Headroom:
        table = self.state.table.copy()
        return await asyncio.to_thread(
            count, table, self.scheduler, spec, maximum, self.default_zone
        )

    def _export(self, shape: str, series: dict[tuple[str, str], int]) -> None:
        gauge = telemetry.CAPACITY_PODS
        for zone, aggregate in self._exported.get(shape, set()) - set(series):
            gauge.remove(shape, zone, aggregate)
        for (zone, aggregate), n in series.items():
            gauge.labels(shape, zone, aggregate).set(n)
        self._exported[shape] = set(series)

    async def export(self) -> None:
        """Count every configured shape, then again every interval, until cancelled."""
        shapes = self.settings.shapes
        for shape, threshold in self.settings.alert_below.items():
            telemetry.CAPACITY_ALERT_BELOW.labels(shape).set(threshold)
        while shapes:
            for shape, requests in shapes.items():
                async with self._running:
                    start = time.perf_counter()
                    try:
                        spec = self.spec(shape_pod(shape, requests))
                        headroom = await self._count(spec, self.settings.max_copies)
                    except Exception:
                        log.exception("headroom count failed", extra={"shape": shape})
                        continue
                    self._export(shape, _series(headroom))
                    telemetry.CAPACITY_SECONDS.labels(shape).set(time.perf_counter() - start)
            await asyncio.sleep(self.settings.interval_seconds)


def _series(headroom: Headroom) -> dict[tuple[str, str], int]:
    """(zone, aggregate) -> copies: in all, per zone and per aggregate."""
    series = {("", ""): len(headroom.placed)}
    series.update({(zone, ""): n for zone, n in headroom.zones.items()})
    series.update({("", aggregate): n for aggregate, n in headroom.aggregates.items()})
    return series


def count(
    table: HostTable, scheduler: Scheduler, spec: RequestSpec, maximum: int, default_zone: str
) -> Headroom:
    """Place copies of `spec` on `table` (a copy of the live one: it is consumed) until none
    fits or `maximum` have been placed."""
    group = spec.instance_group
    headroom = Headroom(spec, [])
    rows, _ = table.rows()
    for i in range(maximum):
        copy = replace(spec, uid=f"{spec.uid}#capacity-{i}")
        passed = _node_resources_fit(table, scheduler.filter(table, rows, copy, False), copy)
        if len(passed) == 0:
            # once more with every reason worded, for the copy that does not fit
            result = scheduler.filter(table, rows, copy)
            _node_resources_fit(table, result, copy)
            headroom.stopped, headroom.candidates = result, len(rows)
            return headroom
        row = int(scheduler.weigh(table, passed, copy).rows[0])
        name = table.names[row]
        table.add_pod(name, copy.as_instance())
        headroom.placed.append(name)
        host = table.hosts[row]
        headroom.zones.update(table.zone_sets[table.zone_code[row]] or (default_zone,))
        headroom.aggregates.update(a.name for a in host.aggregates)
        if group is not None:
            group.members.add(copy.uid)
            group.hosts.add(name)
            group.counts[name] = group.counts.get(name, 0) + 1
    return headroom


def _node_resources_fit(table: HostTable, result: FilterResult, spec: RequestSpec) -> IntArray:
    """kube-scheduler's NodeResourcesFit over the rows the filters passed (forced ones too:
    the kubelet admits nothing that does not fit). A rejection becomes a step of `result`,
    worded as kube-scheduler words it."""
    rows = result.passed
    if len(rows) == 0:
        return rows
    checks: list[tuple[str, BoolArray]] = [
        ("Too many pods", table.column("num_instances")[rows] + 1 <= table.column("max_pods")[rows])
    ]
    wanted = {CPU: spec.vcpus, MEMORY: spec.memory_mb, EPHEMERAL: spec.disk_mb}
    free = {
        CPU: table.column("vcpus_total")[rows] - table.column("vcpus_used")[rows],
        MEMORY: table.column("free_ram_mb")[rows],
        EPHEMERAL: table.column("free_disk_mb")[rows],
    }
    for name, amount in wanted.items():
        if amount > 0:
            checks.append((f"Insufficient {name}", free[name] >= amount - 1e-9))
    hosts = table.hosts
    for name, amount in spec.resources.requests.items():
        if name not in wanted and name != "pods" and amount > 0:
            have = np.array([hosts[r].free_extended(name) for r in rows.tolist()])
            checks.append((f"Insufficient {name}", have >= amount))
    fits = np.logical_and.reduce([mask for _, mask in checks])
    if fits.all():
        return rows
    rejected = {}
    for i in np.flatnonzero(~fits).tolist():
        why = ", ".join(reason for reason, mask in checks if not mask[i])
        rejected[table.names[int(rows[i])]] = f"{NODE_RESOURCES_FIT}: {why}"
    result.steps.append(FilterStep(NODE_RESOURCES_FIT, len(rows), int(fits.sum()), rejected))
    result.failed.update(rejected)
    kept: IntArray = rows[fits]
    result.passed = kept
    return kept


def shape_pod(shape: str, requests: dict[str, str]) -> Pod:
    """A pod of a named shape (config `capacity.shapes`): one container with these requests."""
    return msgspec.convert(
        {
            "metadata": {"name": f"capacity-{shape}", "namespace": "default"},
            "spec": {"containers": [{"name": "main", "resources": {"requests": requests}}]},
        },
        Pod,
    )


def render(report: dict[str, Any], max_reasons: int | None = None) -> str:
    """Plain text for a terminal."""
    req = report["request"]
    fit = report["fit"]
    why = (
        f"stopped at --max {report['max']}"
        if report["stopped_by_max"]
        else "then no node takes another"
    )
    lines = [
        f"Pod {req['pod']}: {fit} more cop{'y' if fit == 1 else 'ies'} fit ({why})",
        "  per zone: " + _counts(report["per_zone"]),
        "  per aggregate: " + _counts(report["per_aggregate"]),
        "  nodes: " + _counts(report["nodes"]),
    ]
    stopped = report["first_not_fitting"]
    if stopped is not None:
        lines.append(f"  the next copy does not fit on any of {stopped['candidates']} nodes:")
        lines.extend(render_steps(stopped["filters"], max_reasons))
    lines.append(f"  models: {report['models']}")
    lines.append(f"  does not model: {report['does_not_model']}")
    return "\n".join(lines)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counts.items()) or "(none)"
