"""Capacity weighers: free RAM, free vCPUs, free disk (spread by default) and I/O ops."""

from __future__ import annotations

from typing import ClassVar

from extender.engine.weighers.base import BaseWeigher
from extender.model.hoststate import HostState
from extender.model.request import RequestSpec
from extender.model.table import ColumnName, FloatArray, HostTable, IntArray


class _ColumnWeigher(BaseWeigher):
    """Weighers whose raw value is one HostState attribute, also kept as a column."""

    attr: ClassVar[ColumnName]
    minval = 0.0

    def _weigh_object(self, host: HostState, spec: RequestSpec) -> float:
        return float(getattr(host, self.attr))

    def vector(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> FloatArray | None:
        return table.column(self.attr)[rows]


class RAMWeigher(_ColumnWeigher):
    attr = "free_ram_mb"


class DiskWeigher(_ColumnWeigher):
    attr = "free_disk_mb"


class IoOpsWeigher(_ColumnWeigher):
    attr = "num_io_ops"


class CPUWeigher(BaseWeigher):
    """Free vCPUs under the allocation ratio (Rocky's CPUWeigher)."""

    minval = 0.0

    def _weigh_object(self, host: HostState, spec: RequestSpec) -> float:
        return host.vcpus_total * host.cpu_allocation_ratio - host.vcpus_used

    def vector(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> FloatArray | None:
        total = table.column("vcpus_total")[rows]
        result: FloatArray = (
            total * table.column("cpu_allocation_ratio")[rows] - table.column("vcpus_used")[rows]
        )
        return result
