"""Nova's host filters mapped to Kubernetes, one module per family, and the registry of
their names (filled as each module defines its filters)."""

from __future__ import annotations

from extender.engine.filters import (  # noqa: F401  (imported to register their filters)
    affinity,
    aggregates,
    capacity,
    compute,
    devices,
    exact,
    extra_specs,
    images,
    json_filter,
    metrics,
    numa,
    retry,
    zones,
)
from extender.engine.filters.base import BaseFilter

FILTERS: dict[str, type[BaseFilter]] = dict(sorted(BaseFilter.registry.items()))

__all__ = ["FILTERS", "BaseFilter"]
