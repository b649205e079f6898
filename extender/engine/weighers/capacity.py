"""Capacity weighers: free RAM, free vCPUs, free disk (spread by default), I/O ops, and the
count of pods (NumInstancesWeigher, Nova 2023.2)."""

from __future__ import annotations

from typing import ClassVar

from extender.engine.weighers.base import BaseWeigher
from extender.model.hoststate import HostState
from extender.model.request import RequestSpec
from extender.model.table import ColumnName, FloatArray, HostTable, IntArray


class _ColumnWeigher(BaseWeigher):
    """Weighers whose raw value is one HostState attribute, also kept as a column."""

    attr: ClassVar[ColumnName]
    minval: ClassVar[float | None] = 0.0

    def _weigh_object(self, host: HostState, spec: RequestSpec) -> float:
        return float(getattr(host, self.attr))

    def vector(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> FloatArray | None:
        return table.column(self.attr)[rows]


class RAMWeigher(_ColumnWeigher):
    attr = "free_ram_mb"
    multiplier_key = "ram_weight_multiplier"


class DiskWeigher(_ColumnWeigher):
    attr = "free_disk_mb"
    multiplier_key = "disk_weight_multiplier"


class IoOpsWeigher(_ColumnWeigher):
    attr = "num_io_ops"
    multiplier_key = "io_ops_weight_multiplier"


class NumInstancesWeigher(_ColumnWeigher):
    """Pods on the node: a positive multiplier packs, a negative one spreads (Nova's
    default 0 leaves it off). Nova declares no lower bound, so neither does this."""

    attr = "num_instances"
    minval = None
    multiplier_key = "num_instances_weight_multiplier"


class HypervisorVersionWeigher(_ColumnWeigher):
    """The kubelet version as Nova's integer (v1.31.2 is 1031002): a positive multiplier
    prefers newer nodes. No lower bound, as in Nova: the oldest candidate weighs 0."""

    attr = "hypervisor_version"
    minval = None
    multiplier_key = "hypervisor_version_weight_multiplier"


class CPUWeigher(BaseWeigher):
    """Free vCPUs under the allocation ratio (Rocky's CPUWeigher)."""

    minval = 0.0
    multiplier_key = "cpu_weight_multiplier"

    def _weigh_object(self, host: HostState, spec: RequestSpec) -> float:
        return host.vcpus_total * host.cpu_allocation_ratio - host.vcpus_used

    def vector(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> FloatArray | None:
        total = table.column("vcpus_total")[rows]
        result: FloatArray = (
            total * table.column("cpu_allocation_ratio")[rows] - table.column("vcpus_used")[rows]
        )
        return result
