"""Nova's host filters mapped to Kubernetes, and the registry of their names."""

from __future__ import annotations

from .base import BaseFilter
from .compute import ComputeFilter
from .resources import CoreFilter, DiskFilter, IoOpsFilter, NumInstancesFilter, RamFilter
from .zones import AvailabilityZoneFilter

FILTERS: dict[str, type[BaseFilter]] = {
    cls.name: cls
    for cls in (
        AvailabilityZoneFilter,
        ComputeFilter,
        CoreFilter,
        DiskFilter,
        IoOpsFilter,
        NumInstancesFilter,
        RamFilter,
    )
}

__all__ = ["FILTERS", "BaseFilter"]
