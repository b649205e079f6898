"""The filter contract: Nova's per-host rule, with an optional vectorised twin.

`host_passes` is the rule (Nova's name, so that `grep host_passes` finds every filter as it
does in Nova's tree) in Nova's terms: it returns None when the host passes, or the reason it
does not, naming the filter and the numbers. A reason is its cause, worded the same for every
node rejected for it (`RamFilter: needs 4096Mi, more than usable memory (ratio 0.5)`), then
this node's own numbers, where they matter, in ` [node: ...]` (`reason`): FailedNodes carry
only the causes (`cause_of`), which kube-scheduler counts into one line each, while `explain`
and `/explain` show each node's numbers. `vector`, where a filter has one, computes the same
verdicts for many hosts at once over the HostTable's columns; a property test proves the two
agree. Filters are plain objects: no HTTP, no Kubernetes client.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import ClassVar

from extender.engine.plugin import Plugin
from extender.model.hoststate import HostState
from extender.model.options import Options
from extender.model.request import RequestSpec
from extender.model.table import BoolArray, HostTable, IntArray


class BaseFilter(Plugin):
    """A host filter; subclasses set `host_passes` and, where hot, `vector`."""

    registry: ClassVar[dict[str, type[BaseFilter]]] = {}
    #: A rejection kube-scheduler's preemption can cure: its dry run, which knows only its
    #: own plugins, evicts what the pod lacks by their measure, and by ours too. The host
    #: goes to FailedNodes; otherwise to FailedAndUnresolvableNodes, so that kube-scheduler
    #: does not wait on a preemption that cannot come.
    resolvable: ClassVar[bool] = False

    def __init__(self, options: Options) -> None:
        self.options = options

    def applies(self, spec: RequestSpec) -> bool:
        """False when the request does not engage this filter, so every host passes."""
        return True

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        raise NotImplementedError

    def resolvable_on(self, host: HostState) -> bool:
        """Whether this filter's rejection of `host` is resolvable (see `resolvable`)."""
        return self.resolvable

    @classmethod
    def remedy(cls, cause: str, part: str) -> str | None:
        """What would make a node pass, read back from the numbers of its rejection as this
        filter worded them (`cause`, and the node's `part`), for the Event that names the
        closest miss; None where no number says it."""
        return None

    def vector(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> BoolArray | None:
        """The pass mask for `rows`, or None where the filter has no fast path."""
        return None

    def reasons(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> list[str]:
        """Why each of `rows`, all rejected by `vector`, fails; a filter whose hosts share
        reasons may find them faster than host by host."""
        hosts = table.hosts
        return [self.host_passes(hosts[r], spec) or f"{self.name}: rejected" for r in rows.tolist()]


#: Opens the part of a reason that is this node's own; the cause is what precedes it.
NODE_PART = " [node: "


def reason(cause: str, node: str) -> str:
    """A rejection: the cause shared by every node rejected for it, then this node's numbers."""
    return f"{cause}{NODE_PART}{node}]"


def cause_of(why: str) -> str:
    """The part of a reason that is the same for every node rejected for that cause, which
    kube-scheduler counts (FailedNodes): a reason without node numbers is its own cause."""
    return why.partition(NODE_PART)[0]


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def first_number(text: str) -> float | None:
    """The first number in a reason's text, as `fmt_mb` and `fmt_num` wrote it."""
    found = _NUMBER.search(text)
    return None if found is None else float(found.group())


# Both are memoised: a pod that most of a large cluster rejects needs thousands of reasons,
# whose numbers repeat (node sizes, ratios, the request), and a cache hit costs about a
# third of formatting the float again.


@lru_cache(maxsize=4096)
def fmt_mb(value: float) -> str:
    """MiB as Kubernetes writes them, for reasons users compare with their pod specs."""
    return f"{value:.0f}Mi" if float(value).is_integer() else f"{value:.1f}Mi"


@lru_cache(maxsize=4096)
def fmt_num(value: float) -> str:
    return f"{value:g}"
