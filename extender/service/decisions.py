"""The latest scheduling decisions, for operators asking why a pod went where it went.

kube-scheduler calls filter, then prioritize, then (with the bind verb) bind for each pod.
The log keeps one record per pod, its latest attempt: what each filter let through, the
best scores, the node bound and how that went. It is bounded, so it costs a few
microseconds per call and a fixed amount of memory; GET /decisions serves it. Per-node
reasons are not kept: `POST /explain` recomputes them for any pod on demand.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from extender.engine.scheduler import FilterResult

#: records kept, one per pod
RECENT = 1024
#: scores kept per prioritize call
TOP = 3


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class DecisionLog:
    """One record per pod (its latest scheduling attempt), newest last."""

    def __init__(self, size: int = RECENT) -> None:
        self._size = size
        self._records: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def filtered(self, uid: str, pod: str, candidates: int, outcome: FilterResult | str) -> None:
        """A filter call: a new attempt for the pod, which replaces the previous one.
        `outcome` is what the filters did, or why every node refused the pod."""
        previous = self._records.pop(uid, None)
        record: dict[str, Any] = {
            "pod": pod,
            "uid": uid,
            "attempt": 1 if previous is None else previous["attempt"] + 1,
            "filtered_at": _now(),
            "candidates": candidates,
        }
        if isinstance(outcome, str):
            record.update(passed=0, refused=outcome)
        else:
            record.update(
                passed=len(outcome.passed),
                forced=outcome.forced,
                filters=[
                    {"name": s.name, "in": s.start, "out": s.end}
                    for s in outcome.steps
                    if s.start != s.end
                ],
            )
        self._records[uid] = record
        if len(self._records) > self._size:
            self._records.popitem(last=False)

    def prioritized(self, uid: str, hosts: list[str], scores: list[int]) -> None:
        """A prioritize call for a pod filtered before: its best nodes and their scores
        (`hosts` and `scores` are best first)."""
        record = self._records.get(uid)
        if record is None:
            return
        record["top_scores"] = [
            {"node": node, "score": score}
            for node, score in zip(hosts[:TOP], scores[:TOP], strict=True)
        ]

    def bound(self, uid: str, node: str, error: str) -> None:
        """A bind call: the node kube-scheduler chose, and whether the Binding was made."""
        record = self._records.get(uid)
        if record is None:
            return
        record["bound"] = {"node": node, "at": _now(), **({"error": error} if error else {})}

    def view(self, pod: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The newest records first; `pod` picks one pod by namespace/name or UID."""
        found = []
        for record in reversed(self._records.values()):
            if pod is None or pod in (record["pod"], record["uid"]):
                found.append(record)
                if len(found) == limit:
                    break
        return found
