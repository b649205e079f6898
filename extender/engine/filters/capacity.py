"""Capacity filters: RAM, vCPU and disk with allocation ratios, pod counts and I/O ops.

Nova's rules, with its no-self-overcommit check: a pod bigger than a node's whole allocatable
never fits that node, whatever the ratio. The ratio comes from the host (node annotation or
configured default); the Aggregate* variants in aggregates.py override `ratio`/`maximum`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from extender.engine.filters.base import BaseFilter, first_number, fmt_mb, fmt_num, reason
from extender.model.hoststate import HostState
from extender.model.request import RequestSpec
from extender.model.table import BoolArray, ColumnName, HostTable, IntArray

Numbers = tuple[Any, Any, Any]
"""(total, usable, ratio) of one host as floats, or of many hosts as columns."""


class _RatioFilter(BaseFilter):
    """Shared shape of RamFilter, DiskFilter and CoreFilter: each states its rule once, on
    numbers that come either from one HostState (`host_passes`) or from the columns (`vector`,
    and `reasons` for the hosts `vector` rejected), so both paths say the same."""

    resolvable = True
    ratio_attr: ClassVar[ColumnName]
    #: what the amounts are of, and the word for what the ratio leaves, in reasons
    noun: ClassVar[str] = "memory"
    left: ClassVar[str] = "usable"

    def ratio(self, host: HostState) -> float:
        return float(getattr(host, self.ratio_attr))

    def resolvable_on(self, host: HostState) -> bool:
        """Below ratio 1 the limit is stricter than NodeResourcesFit's, so kube-scheduler's
        dry run frees too little; from 1 up the two agree."""
        return self.ratio(host) >= 1.0

    @property
    def uses_host_ratio(self) -> bool:
        """The column fast path knows only the host's own ratio, not an override."""
        return type(self).ratio is _RatioFilter.ratio

    def requested(self, spec: RequestSpec) -> float:
        raise NotImplementedError

    def numbers(self, total: Any, used: Any, ratio: Any) -> Numbers:
        """(total, usable, ratio) from a host's total and used amounts."""
        return total, total * ratio - used, ratio

    def amounts(self, host: HostState) -> tuple[float, float]:
        """A host's (total, used) amounts."""
        raise NotImplementedError

    def columns(self, table: HostTable, rows: IntArray) -> tuple[Any, Any]:
        """The same amounts for `rows`, from the table's columns."""
        raise NotImplementedError

    def fits(self, requested: float, total: Any, usable: Any) -> Any:
        """Nova's rule, on floats or on columns alike."""
        return (total >= requested) & (usable >= requested)

    @staticmethod
    def amount(value: float) -> str:
        return fmt_mb(value)

    def message(self, requested: float, total: float, usable: float, ratio: float) -> str:
        """The cause names the request and the ratio, which most nodes share; the node's
        own amounts follow it."""
        needs = f"{self.name}: needs {self.amount(requested)}"
        if total < requested:
            return reason(
                f"{needs}, more than the node's allocatable {self.noun}: "
                "a pod may not overcommit its own node",
                f"{self.amount(total)} allocatable",
            )
        return reason(
            f"{needs}, more than {self.left} {self.noun} (ratio {fmt_num(ratio)})",
            f"{self.amount(usable)} {self.left}",
        )

    @classmethod
    def remedy(cls, cause: str, part: str) -> str | None:
        """A request no larger than what the node has left fits it, and so does the request
        once the difference is freed; past the node's allocatable, only a smaller request
        can."""
        requested, have = first_number(cause.partition(" needs ")[2]), first_number(part)
        if requested is None or have is None:
            return None
        smaller = f"with a request of at most {cls.amount(have)}" if have > 0 else ""
        if part.endswith("allocatable"):
            return f"fits there only {smaller}" if smaller else None
        more = f"fits there with {cls.amount(requested - have)} more {cls.left} {cls.noun}"
        return f"{more}, or {smaller}" if smaller else more

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        requested = self.requested(spec)
        total, usable, ratio = self.numbers(*self.amounts(host), self.ratio(host))
        if self.fits(requested, total, usable):
            return None
        return self.message(requested, total, usable, ratio)

    def _column_numbers(self, table: HostTable, rows: IntArray) -> Numbers:
        return self.numbers(*self.columns(table, rows), table.column(self.ratio_attr)[rows])

    def vector(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> BoolArray | None:
        if not self.uses_host_ratio:
            return None
        total, usable, _ = self._column_numbers(table, rows)
        result: BoolArray = self.fits(self.requested(spec), total, usable)
        return result

    def reasons(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> list[str]:
        if not self.uses_host_ratio:
            return super().reasons(table, rows, spec)
        requested = self.requested(spec)
        numbers = (column.tolist() for column in self._column_numbers(table, rows))
        return [self.message(requested, *row) for row in zip(*numbers, strict=True)]


class RamFilter(_RatioFilter):
    ratio_attr = "ram_allocation_ratio"

    def requested(self, spec: RequestSpec) -> float:
        return spec.memory_mb

    def amounts(self, host: HostState) -> tuple[float, float]:
        total = host.total_usable_ram_mb
        return total, total - host.free_ram_mb

    def columns(self, table: HostTable, rows: IntArray) -> tuple[Any, Any]:
        total = table.column("total_usable_ram_mb")[rows]
        return total, total - table.column("free_ram_mb")[rows]


class DiskFilter(_RatioFilter):
    ratio_attr = "disk_allocation_ratio"
    noun = "ephemeral-storage"

    def requested(self, spec: RequestSpec) -> float:
        return spec.disk_mb

    def amounts(self, host: HostState) -> tuple[float, float]:
        total = host.total_usable_disk_gb * 1024
        return total, total - host.free_disk_mb

    def columns(self, table: HostTable, rows: IntArray) -> tuple[Any, Any]:
        total = table.column("total_usable_disk_gb")[rows] * 1024
        return total, total - table.column("free_disk_mb")[rows]


class CoreFilter(_RatioFilter):
    ratio_attr = "cpu_allocation_ratio"
    noun = "vCPUs"
    left = "free"

    @staticmethod
    def amount(value: float) -> str:
        return fmt_num(value)

    def requested(self, spec: RequestSpec) -> float:
        return spec.vcpus

    def amounts(self, host: HostState) -> tuple[float, float]:
        return host.vcpus_total, host.vcpus_used

    def columns(self, table: HostTable, rows: IntArray) -> tuple[Any, Any]:
        return table.column("vcpus_total")[rows], table.column("vcpus_used")[rows]

    def fits(self, requested: float, total: Any, usable: Any) -> Any:
        # Nova's fail-safe: no CPU count means CPU collection is broken, so the host passes
        return (total == 0) | super().fits(requested, total, usable)


class _CountFilter(BaseFilter):
    """A host passes while a count stays below its maximum. Unresolvable: no plugin of
    kube-scheduler counts pods against this maximum, so its dry run finds no victims on such
    a node and never asks the extender's preempt verb about it."""

    attr: ClassVar[ColumnName]
    option = ""
    what = ""

    def maximum(self, host: HostState) -> int:
        return int(getattr(self.options, self.option))

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        count = getattr(host, self.attr)
        maximum = self.maximum(host)
        if count < maximum:
            return None
        return reason(f"{self.name}: {self.what} reach {self.option} ({maximum})", str(count))

    @classmethod
    def remedy(cls, cause: str, part: str) -> str | None:
        """The node passes once its count is below the maximum, or the maximum above it."""
        maximum, count = first_number(cause.rpartition("(")[2]), first_number(part)
        if maximum is None or count is None:
            return None
        fewer = int(count - maximum) + 1
        return f"fits there with {fewer} fewer, or with {cls.option} above {count:g}"

    def vector(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> BoolArray | None:
        if type(self).maximum is not _CountFilter.maximum:
            return None
        maximum = int(getattr(self.options, self.option))
        result: BoolArray = np.less(table.column(self.attr)[rows], maximum)
        return result


class NumInstancesFilter(_CountFilter):
    attr = "num_instances"
    option = "max_instances_per_host"
    what = "pods on the node"


class IoOpsFilter(_CountFilter):
    attr = "num_io_ops"
    option = "max_io_ops_per_host"
    what = "pods starting or terminating on the node"
