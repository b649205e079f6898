"""Capacity filters: RAM, vCPU and disk with allocation ratios, pod counts and I/O ops.

Nova's rules, with its no-self-overcommit check: a pod bigger than a node's whole allocatable
never fits that node, whatever the ratio. The ratio comes from the host (node annotation or
configured default); the Aggregate* variants in aggregates.py override `ratio`/`maximum`.
"""

from __future__ import annotations

import numpy as np

from ..columns import BoolArray, HostTable, IntArray
from ..hoststate import HostState
from ..request import RequestSpec
from .base import BaseFilter, fmt_mb, fmt_num


class _RatioFilter(BaseFilter):
    """Shared shape of RamFilter, DiskFilter and CoreFilter."""

    resolvable = True
    ratio_attr = ""

    def ratio(self, host: HostState) -> float:
        return float(getattr(host, self.ratio_attr))

    @property
    def uses_host_ratio(self) -> bool:
        """The column fast path knows only the host's own ratio, not an override."""
        return type(self).ratio is _RatioFilter.ratio


class RamFilter(_RatioFilter):
    ratio_attr = "ram_allocation_ratio"

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        requested = spec.memory_mb
        total = host.total_usable_ram_mb
        if total < requested:
            return (
                f"{self.name}: requested {fmt_mb(requested)}, node allocatable {fmt_mb(total)}: "
                "a pod may not overcommit its own node"
            )
        ratio = self.ratio(host)
        usable = total * ratio - (total - host.free_ram_mb)
        if usable < requested:
            return (
                f"{self.name}: requested {fmt_mb(requested)}, usable {fmt_mb(usable)} "
                f"(ratio {fmt_num(ratio)})"
            )
        return None

    def vector(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> BoolArray | None:
        if not self.uses_host_ratio:
            return None
        req = spec.memory_mb
        total = table.col("total_usable_ram_mb")[rows]
        free = table.col("free_ram_mb")[rows]
        ratio = table.col("ram_allocation_ratio")[rows]
        result: BoolArray = (total >= req) & (total * ratio - (total - free) >= req)
        return result


class DiskFilter(_RatioFilter):
    ratio_attr = "disk_allocation_ratio"

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        requested = spec.disk_mb
        total = host.total_usable_disk_gb * 1024
        if total < requested:
            return (
                f"{self.name}: requested {fmt_mb(requested)} ephemeral-storage, node "
                f"allocatable {fmt_mb(total)}: a pod may not overcommit its own node"
            )
        ratio = self.ratio(host)
        usable = total * ratio - (total - host.free_disk_mb)
        if usable < requested:
            return (
                f"{self.name}: requested {fmt_mb(requested)} ephemeral-storage, usable "
                f"{fmt_mb(usable)} (ratio {fmt_num(ratio)})"
            )
        return None

    def vector(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> BoolArray | None:
        if not self.uses_host_ratio:
            return None
        req = spec.disk_mb
        total = table.col("total_usable_disk_gb")[rows] * 1024
        free = table.col("free_disk_mb")[rows]
        ratio = table.col("disk_allocation_ratio")[rows]
        result: BoolArray = (total >= req) & (total * ratio - (total - free) >= req)
        return result


class CoreFilter(_RatioFilter):
    ratio_attr = "cpu_allocation_ratio"

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        total = host.vcpus_total
        if not total:
            return None  # Nova's fail-safe: no CPU count means CPU collection is broken
        requested = spec.vcpus
        if requested > total:
            return (
                f"{self.name}: requested {fmt_num(requested)} vCPUs, node allocatable "
                f"{fmt_num(total)}: a pod may not overcommit its own node"
            )
        ratio = self.ratio(host)
        free = total * ratio - host.vcpus_used
        if free < requested:
            return (
                f"{self.name}: requested {fmt_num(requested)} vCPUs, free {fmt_num(free)} "
                f"(ratio {fmt_num(ratio)})"
            )
        return None

    def vector(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> BoolArray | None:
        if not self.uses_host_ratio:
            return None
        req = spec.vcpus
        total = table.col("vcpus_total")[rows]
        used = table.col("vcpus_used")[rows]
        ratio = table.col("cpu_allocation_ratio")[rows]
        result: BoolArray = (total == 0) | ((req <= total) & (total * ratio - used >= req))
        return result


class _CountFilter(BaseFilter):
    """A host passes while a count stays below its maximum."""

    resolvable = True
    attr = ""
    option = ""
    what = ""

    def maximum(self, host: HostState) -> int:
        return int(getattr(self.options, self.option))

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        count = getattr(host, self.attr)
        maximum = self.maximum(host)
        if count < maximum:
            return None
        return f"{self.name}: {count} {self.what}, {self.option} is {maximum}"

    def vector(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> BoolArray | None:
        if type(self).maximum is not _CountFilter.maximum:
            return None
        maximum = int(getattr(self.options, self.option))
        result: BoolArray = np.less(table.col(self.attr)[rows], maximum)
        return result


class NumInstancesFilter(_CountFilter):
    attr = "num_instances"
    option = "max_instances_per_host"
    what = "pods on the node"


class IoOpsFilter(_CountFilter):
    attr = "num_io_ops"
    option = "max_io_ops_per_host"
    what = "pods starting or terminating on the node"
