"""MetricsFilter: only nodes that report every metric MetricsWeigher is set to weigh.

Metrics are node annotations `metrics.weighbridge.io/<name>` with numeric values (kept up to
date by whatever agent the operator runs); the names are those of the `metrics`
`weight_setting` option. Nova's filter exists so that MetricsWeigher never meets a node
without a metric; here such a node would only rank last, but is still best left out.
"""

from __future__ import annotations

from extender.engine.filters.base import BaseFilter
from extender.model.hoststate import HostState
from extender.model.options import Options
from extender.model.request import RequestSpec


class MetricsFilter(BaseFilter):
    """Only nodes that report every metric of the `metrics.weight_setting` option."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.names = sorted({name for name, _ in options.metrics.weights})

    def applies(self, spec: RequestSpec) -> bool:
        return bool(self.names)

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        missing = [n for n in self.names if n not in host.metrics]
        if not missing:
            return None
        return f"{self.name}: node does not report {', '.join(missing)}"
