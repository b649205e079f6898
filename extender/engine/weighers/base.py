"""The weigher contract and Nova's normalisation (Victoria's fixed semantics).

Each weigher gives a raw value per host; raw values are clipped to the bounds the class
declares, normalised per request to [0, 1] (a missing bound comes from the request's own
values; all-equal values give 0), multiplied by the configured multiplier and summed.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from extender.engine.plugin import Plugin
from extender.model.hoststate import HostState
from extender.model.options import Options
from extender.model.request import RequestSpec
from extender.model.table import FloatArray, HostTable, IntArray


class BaseWeigher(Plugin):
    """A host weigher; subclasses set `_weigh_object` (Nova's name for the per-host raw
    weight) and, where hot, `vector`."""

    registry: ClassVar[dict[str, type[BaseWeigher]]] = {}
    minval: ClassVar[float | None] = None
    maxval: ClassVar[float | None] = None

    def __init__(self, options: Options, multiplier: float) -> None:
        self.options = options
        self.multiplier = multiplier

    def applies(self, spec: RequestSpec) -> bool:
        """False when every host would get the same raw value, so all normalise to 0."""
        return True

    def _weigh_object(self, host: HostState, spec: RequestSpec) -> float:
        raise NotImplementedError

    def vector(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> FloatArray | None:
        """Raw values for `rows`, or None where the weigher has no fast path."""
        return None

    def raw(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> FloatArray:
        values = self.vector(table, rows, spec)
        if values is not None:
            return values
        hosts = table.hosts
        return np.fromiter(
            (self._weigh_object(hosts[r], spec) for r in rows), dtype=np.float64, count=len(rows)
        )


def normalize(
    values: FloatArray, minval: float | None = None, maxval: float | None = None
) -> FloatArray:
    """Nova's normalize(): map onto [0, 1] between the bounds; all-equal gives zeros."""
    if len(values) == 0:
        return values
    # np.maximum/np.minimum: the same as np.clip, at a fraction of its call overhead
    if minval is not None:
        values = np.maximum(values, minval)
    if maxval is not None:
        values = np.minimum(values, maxval)
    lo = float(values.min()) if minval is None else float(minval)
    hi = float(values.max()) if maxval is None else float(maxval)
    if lo == hi:
        return np.zeros_like(values)
    result: FloatArray = (values - lo) / (hi - lo)
    return result
