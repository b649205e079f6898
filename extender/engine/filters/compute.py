"""ComputeFilter: Nova drops disabled or dead compute services; here cordoned or not-Ready nodes."""

from __future__ import annotations

from extender.engine.filters.base import BaseFilter
from extender.model.hoststate import HostState
from extender.model.request import RequestSpec
from extender.model.table import BoolArray, HostTable, IntArray


class ComputeFilter(BaseFilter):
    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        if host.service.get("disabled"):
            return f"{self.name}: node is cordoned (spec.unschedulable)"
        if not host.service.get("up"):
            return f"{self.name}: node is not Ready"
        return None

    def vector(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> BoolArray | None:
        result: BoolArray = ~table.disabled[rows] & table.up[rows]
        return result
