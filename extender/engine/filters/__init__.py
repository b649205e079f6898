"""Nova's host filters mapped to Kubernetes, and the registry of their names."""

from __future__ import annotations

from extender.engine.filters.affinity import (
    DifferentHostFilter,
    SameHostFilter,
    ServerGroupAffinityFilter,
    ServerGroupAntiAffinityFilter,
    SimpleCIDRAffinityFilter,
)
from extender.engine.filters.aggregates import (
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
from extender.engine.filters.base import BaseFilter
from extender.engine.filters.capacity import (
    CoreFilter,
    DiskFilter,
    IoOpsFilter,
    NumInstancesFilter,
    RamFilter,
)
from extender.engine.filters.compute import ComputeFilter
from extender.engine.filters.devices import PciPassthroughFilter
from extender.engine.filters.exact import (
    AllHostsFilter,
    ExactCoreFilter,
    ExactDiskFilter,
    ExactRamFilter,
)
from extender.engine.filters.extra_specs import ComputeCapabilitiesFilter
from extender.engine.filters.images import ImagePropertiesFilter, IsolatedHostsFilter
from extender.engine.filters.json_filter import JsonFilter
from extender.engine.filters.metrics import MetricsFilter
from extender.engine.filters.numa import NUMATopologyFilter
from extender.engine.filters.retry import RetryFilter
from extender.engine.filters.zones import AvailabilityZoneFilter

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
