"""Nova's host weighers mapped to Kubernetes, and the registry of their names (filled as
each module defines its weighers)."""

from __future__ import annotations

from extender.engine.weighers import (  # noqa: F401  (imported to register their weighers)
    affinity,
    capacity,
    devices,
    failures,
    images,
    metrics,
)
from extender.engine.weighers.base import BaseWeigher, normalize

WEIGHERS: dict[str, type[BaseWeigher]] = dict(sorted(BaseWeigher.registry.items()))

__all__ = ["WEIGHERS", "BaseWeigher", "normalize"]
