"""AvailabilityZoneFilter: zones come from aggregates' availability_zone metadata and the
node's topology.kubernetes.io/zone label; a node with neither is in the default zone.

Hosts that share a set of zones share a verdict, so the fast path decides once per distinct
set (the HostTable's zone codes) rather than once per host, reasons included.
"""

from __future__ import annotations

import numpy as np

from extender.engine.filters.base import BaseFilter, reason
from extender.model.hoststate import HostState
from extender.model.request import RequestSpec
from extender.model.table import BoolArray, HostTable, IntArray


class AvailabilityZoneFilter(BaseFilter):
    def requested_zone(self, spec: RequestSpec) -> str | None:
        return spec.availability_zone or self.options.default_schedule_zone

    def applies(self, spec: RequestSpec) -> bool:
        return self.requested_zone(spec) is not None

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        zone = self.requested_zone(spec)
        return None if zone is None else self._verdict(host.availability_zones, zone)

    def _verdict(self, zones: frozenset[str], zone: str) -> str | None:
        if zones:
            if zone in zones:
                return None
            return reason(
                f"{self.name}: node is not in requested zone {zone!r}",
                f"in {', '.join(sorted(zones))}",
            )
        default = self.options.default_availability_zone
        if zone == default:
            return None
        return reason(
            f"{self.name}: node is not in requested zone {zone!r}",
            f"no zone, default {default!r}",
        )

    def _verdicts(self, table: HostTable, spec: RequestSpec) -> list[str | None]:
        """The verdict for each zone code of the table."""
        zone = self.requested_zone(spec)
        if zone is None:
            return [None] * len(table.zone_sets)
        return [self._verdict(zones, zone) for zones in table.zone_sets]

    def vector(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> BoolArray | None:
        passing = [code for code, why in enumerate(self._verdicts(table, spec)) if why is None]
        result: BoolArray = np.isin(table.zone_code[rows], passing)
        return result

    def reasons(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> list[str]:
        verdicts = self._verdicts(table, spec)
        return [verdicts[c] or f"{self.name}: rejected" for c in table.zone_code[rows].tolist()]
