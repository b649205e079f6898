"""Events on pods the filters leave with no node, where users look first (`kubectl describe pod`).

kube-scheduler's FailedScheduling message lists each cause once; the Event adds what it
cannot carry: how many nodes each filter removed, the closest miss in numbers and, where its
numbers say it, what would make that node fit (the filter's `remedy`). Writes
never hold a verb up: the filter call only records the rejection and queues the pod (a
bounded queue; a full one drops it, counted), and a background task writes. Like client-go's
events.k8s.io recorder, a repeat of the same summary for the same pod PATCHes the first
Event's `series` instead of creating another; writes are limited to one per pod per
`min_interval_seconds`, the rejections in between counted into the next write.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from extender import telemetry
from extender.cache.kubeapi import ApiError
from extender.engine.filters.base import NODE_PART, BaseFilter, first_number
from extender.engine.scheduler import FilterResult
from extender.kube.objects import Pod, micro_time
from extender.kube.pods import pod_uid
from extender.service.config import EventSettings

log = logging.getLogger(__name__)

CONTROLLER = "weighbridge"
REASON = "FilteredOut"
ACTION = "Scheduling"
NOTE_LIMIT = 1024
"""The API server refuses an Event whose note is longer (bytes)."""

PODS_KEPT = 4096
"""Pods whose series are remembered, at most (the oldest are forgotten: a later rejection of
such a pod starts a new Event)."""


class EventApi(Protocol):
    async def post(self, path: str, body: dict[str, Any]) -> bytes: ...

    async def patch(self, path: str, body: dict[str, Any]) -> bytes: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _closest(cause: str, nodes: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The node whose numbers come nearest to passing: the most of what was missing, or,
    for a cause that counts what a node already has too much of ("reach"), the fewest.
    None when the nodes' parts carry no number."""
    sign = -1.0 if " reach " in cause else 1.0
    # ties go to the first name: kube-scheduler sends the nodes in a different order on each
    # retry, and the same summary must read the same to extend its Event's series
    numbered = [
        (-sign * number, node, part)
        for node, part in nodes
        if (number := first_number(part)) is not None
    ]
    if not numbered:
        return None
    _, node, part = min(numbered)
    return node, part


def summarize(result: FilterResult, candidates: int) -> str:
    """One line per filter that removed nodes: how many, each cause once with its count,
    and the closest miss; cut to what an Event's note may hold."""
    lines = [f"no node passed weighbridge's filters ({candidates} candidates)"]
    for step in result.steps:
        removed = step.start - step.end
        if removed <= 0:
            continue
        causes: dict[str, list[tuple[str, str]]] = {}
        for node, why in step.rejected.items():
            cause, _, part = why.partition(NODE_PART)
            causes.setdefault(cause, []).append((node, part[:-1]))
        words = [f"{step.name} removed {removed}"]
        for cause, nodes in sorted(causes.items(), key=lambda c: -len(c[1])):
            text = f"{cause.removeprefix(step.name + ': ')}: {len(nodes)} nodes"
            closest = _closest(cause, nodes)
            if closest is not None:
                text += f", closest {closest[0]} ({closest[1]})"
                plugin = BaseFilter.registry.get(step.name)
                remedy = plugin.remedy(cause, closest[1]) if plugin is not None else None
                if remedy:
                    text += f": {remedy}"
            words.append(text)
        lines.append("; ".join(words))
    unknown = candidates - (result.steps[0].start if result.steps else candidates)
    if unknown > 0:
        lines.append(f"{unknown} not in weighbridge's cache (yet)")
    note = "\n".join(lines).encode()
    if len(note) <= NOTE_LIMIT:
        return note.decode()
    return note[: NOTE_LIMIT - 3].decode(errors="ignore") + "..."


@dataclass(slots=True)
class _Pod:
    """A pod's latest rejection and its Event series."""

    namespace: str
    name: str
    uid: str
    result: FilterResult | None
    """The latest rejection, until it is written or dropped (a large cluster's reasons are
    not kept for every pod rejected once)."""
    candidates: int
    observed_at: datetime
    observed: int = 1
    """Rejections since the series' Event was created (or, before, since the first)."""
    queued: bool = False
    due: float = 0.0
    event: str = ""
    note: str = ""


def _name(kept: _Pod) -> str:
    return f"{kept.namespace}/{kept.name}"


class EventEmitter:
    """Queues rejected pods from the filter verb and writes their Events in `run`."""

    def __init__(
        self,
        api: EventApi,
        identity: str,
        settings: EventSettings,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.api = api
        self.identity = identity
        self.settings = settings
        self._clock = clock
        self._now = now
        self._queue: asyncio.Queue[str] = asyncio.Queue(settings.queue_size)
        self._pods: OrderedDict[str, _Pod] = OrderedDict()

    def rejected(self, pod: Pod, result: FilterResult, candidates: int) -> None:
        """Record that the filters left `pod` with no node; never waits."""
        uid = pod_uid(pod)
        meta = pod.metadata
        kept = self._pods.get(uid)
        if kept is None:
            kept = _Pod(meta.namespace, meta.name, meta.uid, result, candidates, self._now())
            self._pods[uid] = kept
            if len(self._pods) > PODS_KEPT:
                self._pods.popitem(last=False)
        else:
            kept.result, kept.candidates = result, candidates
            kept.observed_at = self._now()
            kept.observed += 1
            self._pods.move_to_end(uid)
        if kept.queued or self._clock() < kept.due:
            return
        self._enqueue(uid, kept)

    def _enqueue(self, uid: str, kept: _Pod) -> None:
        try:
            self._queue.put_nowait(uid)
        except asyncio.QueueFull:
            telemetry.EVENTS.labels("dropped").inc()
            kept.result = None
            return
        kept.queued = True

    def _flush_due(self) -> None:
        """Queue the pods rejected again while their writes were held back, now due."""
        now = self._clock()
        for uid, kept in list(self._pods.items()):
            if kept.result is not None and not kept.queued and now >= kept.due:
                self._enqueue(uid, kept)

    async def run(self) -> None:
        """Write queued Events until cancelled."""
        tick = min(1.0, self.settings.min_interval_seconds)
        while True:
            try:
                uid = await asyncio.wait_for(self._queue.get(), tick)
            except TimeoutError:
                self._flush_due()
                continue
            kept = self._pods.get(uid)
            if kept is not None:
                kept.queued = False
                kept.due = self._clock() + self.settings.min_interval_seconds
                try:
                    await self._emit(kept)
                except Exception:  # a bug in one write must not end Events for the process
                    telemetry.EVENTS.labels("failed").inc()
                    log.exception("event not written", extra={"pod": _name(kept)})
            self._flush_due()

    async def _emit(self, kept: _Pod) -> None:
        """Create the pod's Event, or PATCH its series when the summary is unchanged."""
        if kept.result is None:
            return
        # in a thread: at 5,000 nodes it takes 10-30 ms, which would hold the verbs up
        note = await asyncio.to_thread(summarize, kept.result, kept.candidates)
        seen = kept.observed
        repeat = bool(kept.event) and note == kept.note
        try:
            if repeat:
                await asyncio.wait_for(self._patch(kept, seen), self.settings.write_timeout_seconds)
            else:
                await asyncio.wait_for(
                    self._create(kept, note), self.settings.write_timeout_seconds
                )
        except (ApiError, TimeoutError) as exc:
            telemetry.EVENTS.labels("failed").inc()
            if isinstance(exc, ApiError) and exc.status == 404:
                kept.event = ""  # expired (the API server's event TTL): the next write creates
            log.warning(
                "event not written", extra={"pod": _name(kept), "error": str(exc) or "timeout"}
            )
            return
        if kept.observed == seen:
            kept.result = None  # else a rejection came during the write: it is due next
        if repeat:
            telemetry.EVENTS.labels("patched").inc()
        else:
            telemetry.EVENTS.labels("created").inc()
            kept.note = note
            # the new series starts at this rejection; those that came during the write follow
            kept.observed = 1 + kept.observed - seen

    async def _create(self, kept: _Pod, note: str) -> None:
        at = kept.observed_at
        name = f"{kept.name}.{int(at.timestamp() * 1e9):x}"
        body = {
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": kept.namespace},
            "eventTime": micro_time(at),
            "reportingController": CONTROLLER,
            "reportingInstance": self.identity,
            "action": ACTION,
            "reason": REASON,
            "type": "Warning",
            "note": note,
            "regarding": {
                "apiVersion": "v1",
                "kind": "Pod",
                "namespace": kept.namespace,
                "name": kept.name,
                "uid": kept.uid,
            },
        }
        await self.api.post(f"/apis/events.k8s.io/v1/namespaces/{kept.namespace}/events", body)
        kept.event = name

    async def _patch(self, kept: _Pod, count: int) -> None:
        series = {"count": count, "lastObservedTime": micro_time(kept.observed_at)}
        path = f"/apis/events.k8s.io/v1/namespaces/{kept.namespace}/events/{kept.event}"
        await self.api.patch(path, {"series": series})
