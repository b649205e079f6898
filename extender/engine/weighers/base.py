"""The weigher contract and Nova's normalisation (Victoria's fixed semantics).

Each weigher gives a raw value per host; raw values are clipped to the bounds the class
declares, normalised per request to [0, 1] (a missing bound comes from the request's own
values; all-equal values give 0), multiplied by the host's multiplier and summed. The host's
multiplier is Nova's get_weight_multiplier (Stein): the smallest value of the weigher's key
(`ram_weight_multiplier`, ...) across the host's aggregates, else the configured one.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from extender.engine.filters.aggregates import aggregate_number
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
    #: Nova's option name, also the aggregate metadata key that overrides it per host
    multiplier_key: ClassVar[str] = ""
    #: -1 where Nova applies the negative of the option (BuildFailureWeigher)
    sign: ClassVar[float] = 1.0

    def __init__(self, options: Options, multiplier: float) -> None:
        self.options = options
        self.configured = multiplier
        self.multiplier = self.sign * multiplier

    def weight_multiplier(self, host: HostState) -> float:
        """Nova's get_weight_multiplier: the smallest aggregate value of `multiplier_key`,
        the configured multiplier when there is none or any is not a number."""
        return self.sign * aggregate_number(host, self.multiplier_key, self.configured, float)

    def multipliers(self, table: HostTable, rows: IntArray, tuned: IntArray) -> FloatArray:
        """Each host's multiplier over `rows`; only the positions `tuned` (hosts whose
        aggregates set some weight multiplier) can differ from the configured one."""
        result = np.full(len(rows), self.multiplier)
        hosts = table.hosts
        for i in tuned.tolist():
            result[i] = self.weight_multiplier(hosts[rows[i]])
        return result

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
