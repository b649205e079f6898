"""MetricsWeigher: a weighted sum of node metrics (annotations `metrics.weighbridge.io/`).

The `metrics` options are Nova's [metrics] group. Nova raises, failing the whole request,
when a node lacks a metric and `required` is true; an extender cannot fail prioritize for
one node, so that node gets `weight_of_unavailable` instead (MetricsFilter keeps such nodes
out in the first place). With `required` false, Nova's own rule holds: a missing metric
whose ratio times the node's multiplier is 0 is skipped, any other gives
`weight_of_unavailable`. Metrics older than `max_age_seconds` are missing, every one of them,
as Nova's metrics of a compute node whose monitor stopped reporting.
"""

from __future__ import annotations

from datetime import UTC, datetime

from extender.engine.filters.metrics import fresh_metrics
from extender.engine.weighers.base import BaseWeigher
from extender.model.hoststate import HostState
from extender.model.options import Options
from extender.model.request import RequestSpec


class MetricsWeigher(BaseWeigher):
    """Weighted sum of the node's `metrics.weighbridge.io/` annotations (`weight_setting`)."""

    multiplier_key = "metrics_weight_multiplier"

    def __init__(self, options: Options, multiplier: float) -> None:
        super().__init__(options, multiplier)
        self.setting = options.metrics.weights
        self.required = options.metrics.required
        self.unavailable = options.metrics.weight_of_unavailable

    def applies(self, spec: RequestSpec) -> bool:
        return bool(self.setting)

    def _weigh_object(self, host: HostState, spec: RequestSpec) -> float:
        total = 0.0
        metrics = fresh_metrics(host, self.options.metrics, datetime.now(UTC))
        for name, ratio in self.setting:
            value = metrics.get(name)
            if value is None:
                if self.required or ratio * self.weight_multiplier(host) != 0:
                    return self.unavailable
                continue
            total += value * ratio
        return total
