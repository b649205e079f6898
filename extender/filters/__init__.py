"""Nova's host filters mapped to Kubernetes, and the registry of their names."""

from __future__ import annotations

from .affinity import (
    DifferentHostFilter,
    SameHostFilter,
    ServerGroupAffinityFilter,
    ServerGroupAntiAffinityFilter,
    SimpleCIDRAffinityFilter,
)
from .aggregates import (
    AggregateCoreFilter,
    AggregateDiskFilter,
    AggregateImagePropertiesIsolation,
    AggregateInstanceExtraSpecsFilter,
    AggregateIoOpsFilter,
    AggregateMultiTenancyIsolation,
    AggregateNumInstancesFilter,
    AggregateRamFilter,
    AggregateTypeAffinityFilter,
)
from .base import BaseFilter
from .compute import ComputeFilter
from .devices import PciPassthroughFilter
from .exact import AllHostsFilter, ExactCoreFilter, ExactDiskFilter, ExactRamFilter
from .extra_specs import ComputeCapabilitiesFilter
from .images import ImagePropertiesFilter, IsolatedHostsFilter
from .json_filter import JsonFilter
from .metrics import MetricsFilter
from .numa import NUMATopologyFilter
from .resources import CoreFilter, DiskFilter, IoOpsFilter, NumInstancesFilter, RamFilter
from .retry import RetryFilter
from .zones import AvailabilityZoneFilter

FILTERS: dict[str, type[BaseFilter]] = {
    cls.name: cls
    for cls in (
        AggregateCoreFilter,
        AggregateDiskFilter,
        AggregateImagePropertiesIsolation,
        AggregateInstanceExtraSpecsFilter,
        AggregateIoOpsFilter,
        AggregateMultiTenancyIsolation,
        AggregateNumInstancesFilter,
        AggregateRamFilter,
        AggregateTypeAffinityFilter,
        AllHostsFilter,
        AvailabilityZoneFilter,
        ComputeCapabilitiesFilter,
        ComputeFilter,
        CoreFilter,
        DifferentHostFilter,
        DiskFilter,
        ExactCoreFilter,
        ExactDiskFilter,
        ExactRamFilter,
        ImagePropertiesFilter,
        IoOpsFilter,
        IsolatedHostsFilter,
        JsonFilter,
        MetricsFilter,
        NUMATopologyFilter,
        NumInstancesFilter,
        PciPassthroughFilter,
        RamFilter,
        RetryFilter,
        SameHostFilter,
        ServerGroupAffinityFilter,
        ServerGroupAntiAffinityFilter,
        SimpleCIDRAffinityFilter,
    )
}

__all__ = ["FILTERS", "BaseFilter"]
