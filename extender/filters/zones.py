"""AvailabilityZoneFilter: zones come from aggregates' availability_zone metadata and the
node's topology.kubernetes.io/zone label; a node with neither is in the default zone.
"""

from __future__ import annotations

from ..hoststate import HostState
from ..request import RequestSpec
from .base import BaseFilter


class AvailabilityZoneFilter(BaseFilter):
    def requested_zone(self, spec: RequestSpec) -> str | None:
        return spec.availability_zone or self.options.default_schedule_zone

    def applies(self, spec: RequestSpec) -> bool:
        return self.requested_zone(spec) is not None

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        zone = self.requested_zone(spec)
        if zone is None:
            return None
        zones = host.availability_zones
        if zones:
            if zone in zones:
                return None
            return f"{self.name}: requested zone {zone!r}, node is in {', '.join(sorted(zones))}"
        default = self.options.default_availability_zone
        if zone == default:
            return None
        return f"{self.name}: requested zone {zone!r}, node has no zone (default {default!r})"
