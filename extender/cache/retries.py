"""Bind failures per pod and per node: Nova's retry hosts and failed_builds.

Nova remembers, per request, the hosts where the build already failed (RetryFilter skips
them), and per compute node a count of failed builds (BuildFailureWeigher avoids the node;
a successful build resets it). Here a failed bind plays the failed build. Every failure is
an event that expires after a TTL, and at most `capacity` events are kept (the oldest go
first), so the log cannot grow without bound whatever kube-scheduler keeps retrying. All
operations are O(1) amortised: events expire in the order they were recorded.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Event:
    at: float
    pod: str
    node: str
    seq: int


@dataclass(slots=True)
class _Record:
    """Live failures of one pod or one node; events older than `since` were reset away."""

    since: int
    count: int = 0
    nodes: dict[str, int] = field(default_factory=dict)


class FailureLog:
    """Recent bind failures, by pod and by node."""

    def __init__(
        self, ttl: float, capacity: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.capacity = capacity
        self.clock = clock
        self._events: deque[_Event] = deque()
        self._pods: dict[str, _Record] = {}
        self._nodes: dict[str, _Record] = {}
        self._seq = 0

    def __len__(self) -> int:
        return len(self._events)

    def record_failure(self, pod: str, node: str) -> None:
        self._seq += 1
        event = _Event(self.clock(), pod, node, self._seq)
        self._events.append(event)
        for records, key in ((self._pods, pod), (self._nodes, node)):
            record = records.get(key)
            if record is None:
                record = records[key] = _Record(event.seq)
            record.count += 1
            record.nodes[node] = record.nodes.get(node, 0) + 1
        while len(self._events) > self.capacity:
            self._drop(self._events.popleft())

    def record_success(self, pod: str, node: str) -> None:
        """The pod is bound: forget its failures; the node's count restarts from zero, as
        Nova's compute resets failed_builds after a successful build."""
        self._pods.pop(pod, None)
        self._nodes.pop(node, None)

    def expire(self) -> set[str]:
        """Drop events older than the TTL; returns the nodes whose count changed."""
        deadline = self.clock() - self.ttl
        changed: set[str] = set()
        events = self._events
        while events and events[0].at <= deadline:
            event = events.popleft()
            if self._drop(event):
                changed.add(event.node)
        return changed

    def failed_hosts(self, pod: str) -> tuple[int, set[str]]:
        """How many live failures the pod has, and on which nodes."""
        record = self._pods.get(pod)
        if record is None:
            return 0, set()
        return record.count, set(record.nodes)

    def failed_builds(self, node: str) -> int:
        record = self._nodes.get(node)
        return 0 if record is None else record.count

    def _drop(self, event: _Event) -> bool:
        """Forget one event; True if the node's count went down."""
        node_changed = False
        for records, key in ((self._pods, event.pod), (self._nodes, event.node)):
            record = records.get(key)
            if record is None or event.seq < record.since:
                continue
            record.count -= 1
            left = record.nodes[event.node] - 1
            if left:
                record.nodes[event.node] = left
            else:
                del record.nodes[event.node]
            if not record.count:
                del records[key]
            node_changed = node_changed or records is self._nodes
        return node_changed
