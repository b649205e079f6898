"""Nova's host weighers mapped to Kubernetes, and the registry of their names."""

from __future__ import annotations

from .base import BaseWeigher, normalize
from .capacity import CPUWeigher, DiskWeigher, IoOpsWeigher, RAMWeigher

WEIGHERS: dict[str, type[BaseWeigher]] = {
    cls.name: cls for cls in (CPUWeigher, DiskWeigher, IoOpsWeigher, RAMWeigher)
}

__all__ = ["WEIGHERS", "BaseWeigher", "normalize"]
