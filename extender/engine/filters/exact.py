"""Whole-node placement (Nova's Ironic filters), and AllHostsFilter.

ExactRamFilter, ExactDiskFilter and ExactCoreFilter pass a node only when the pod asks for
exactly what the node has free, so one pod takes the whole node: a pod sized to a node
type's allocatable lands only on an empty node of that type. As in Nova, a node with no CPU
count fails ExactCoreFilter (CoreFilter passes it), and swap, always 0 here, would count.
"""

from __future__ import annotations

from extender.engine.filters.base import BaseFilter, fmt_mb, fmt_num
from extender.model.hoststate import HostState
from extender.model.request import RequestSpec

_PRECISION = 6  # HostState rounds its sums to this many decimals


def _equal(a: float, b: float) -> bool:
    return round(a, _PRECISION) == round(b, _PRECISION)


class ExactRamFilter(BaseFilter):
    """The pod's memory request must equal the node's free memory (whole-node placement)."""

    resolvable = True

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        if _equal(spec.memory_mb, host.free_ram_mb):
            return None
        return (
            f"{self.name}: requested {fmt_mb(spec.memory_mb)}, node has exactly "
            f"{fmt_mb(host.free_ram_mb)} free"
        )


class ExactDiskFilter(BaseFilter):
    """The pod's ephemeral-storage request must equal the node's free ephemeral storage."""

    resolvable = True

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        if _equal(spec.disk_mb, host.free_disk_mb):
            return None
        return (
            f"{self.name}: requested {fmt_mb(spec.disk_mb)} ephemeral-storage, node has exactly "
            f"{fmt_mb(host.free_disk_mb)} free"
        )


class ExactCoreFilter(BaseFilter):
    """The pod's cpu request must equal the node's free CPUs; a node with none fails."""

    resolvable = True

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        if not host.vcpus_total:
            return f"{self.name}: node reports no CPUs"
        free = host.vcpus_total - host.vcpus_used
        if _equal(spec.vcpus, free):
            return None
        return (
            f"{self.name}: requested {fmt_num(spec.vcpus)} vCPUs, node has exactly "
            f"{fmt_num(free)} free"
        )


class AllHostsFilter(BaseFilter):
    """Passes every node; a placeholder for a chain that should filter nothing."""

    def applies(self, spec: RequestSpec) -> bool:
        return False

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        return None
