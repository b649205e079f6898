"""Nova's host weighers mapped to Kubernetes, and the registry of their names."""

from __future__ import annotations

from extender.engine.weighers.affinity import (
    ServerGroupSoftAffinityWeigher,
    ServerGroupSoftAntiAffinityWeigher,
)
from extender.engine.weighers.base import BaseWeigher, normalize
from extender.engine.weighers.capacity import CPUWeigher, DiskWeigher, IoOpsWeigher, RAMWeigher
from extender.engine.weighers.devices import PCIWeigher
from extender.engine.weighers.failures import BuildFailureWeigher
from extender.engine.weighers.metrics import MetricsWeigher

WEIGHERS: dict[str, type[BaseWeigher]] = {
    cls.name: cls
    for cls in (
        BuildFailureWeigher,
        CPUWeigher,
        DiskWeigher,
        IoOpsWeigher,
        MetricsWeigher,
        PCIWeigher,
        RAMWeigher,
        ServerGroupSoftAffinityWeigher,
        ServerGroupSoftAntiAffinityWeigher,
    )
}

__all__ = ["WEIGHERS", "BaseWeigher", "normalize"]
