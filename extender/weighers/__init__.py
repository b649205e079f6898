"""Nova's host weighers mapped to Kubernetes, and the registry of their names."""

from __future__ import annotations

from .affinity import ServerGroupSoftAffinityWeigher, ServerGroupSoftAntiAffinityWeigher
from .base import BaseWeigher, normalize
from .capacity import CPUWeigher, DiskWeigher, IoOpsWeigher, RAMWeigher
from .devices import PCIWeigher
from .failures import BuildFailureWeigher
from .metrics import MetricsWeigher

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
