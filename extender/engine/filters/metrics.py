"""MetricsFilter: only nodes that report every metric MetricsWeigher is set to weigh.

Metrics are node annotations `metrics.weighbridge.io/<name>` with numeric values (kept up to
date by whatever agent the operator runs); the names are those of the `metrics`
`weight_setting` option. Nova's filter exists so that MetricsWeigher never meets a node
without a metric; here such a node would only rank last, but is still best left out.
With `max_age_seconds`, metrics older than that (annotation weighbridge.io/metrics-timestamp)
or of unknown age count as missing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from extender.contract import METRICS_TIMESTAMP
from extender.engine.filters.base import BaseFilter
from extender.model.hoststate import HostState
from extender.model.options import MetricsOptions, Options
from extender.model.request import RequestSpec

_NONE: dict[str, float] = {}


def fresh_metrics(host: HostState, options: MetricsOptions, now: datetime) -> dict[str, float]:
    """The node's metrics, or none when `max_age_seconds` is set and they are older, or of
    no known age: stale metrics are unavailable, as Nova's of a host whose monitor stopped."""
    if options.max_age_seconds is None:
        return host.metrics
    age = host.metrics_age(now)
    return host.metrics if age is not None and age <= options.max_age_seconds else _NONE


class MetricsFilter(BaseFilter):
    """Only nodes that report every metric of the `metrics.weight_setting` option."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.names = sorted({name for name, _ in options.metrics.weights})

    def applies(self, spec: RequestSpec) -> bool:
        return bool(self.names)

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        metrics = fresh_metrics(host, self.options.metrics, datetime.now(UTC))
        missing = [n for n in self.names if n not in metrics]
        if not missing:
            return None
        if metrics is not host.metrics:
            limit = self.options.metrics.max_age_seconds
            return f"{self.name}: node's metrics are {_age(host)}, max_age_seconds {limit:g}"
        return f"{self.name}: node does not report {', '.join(missing)}"


def _age(host: HostState) -> str:
    age = host.metrics_age()
    return f"{age:.0f}s old" if age is not None else f"of unknown age (no {METRICS_TIMESTAMP})"
