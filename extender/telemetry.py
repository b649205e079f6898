"""The Prometheus metrics, defined once. Names are part of the public contract: the Grafana
dashboard and the alert rules in deploy/ and the chart query them.
"""

from __future__ import annotations

from functools import cache

from prometheus_client import Counter, Gauge, Histogram, Info

_FAST = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)

BUILD = Info("weighbridge_build", "Version of the running extender")
REQUESTS = Counter(
    "weighbridge_requests",
    "Extender calls received, by verb and HTTP status code",
    ["verb", "code"],
)
REQUEST_SECONDS = Histogram(
    "weighbridge_request_duration_seconds",
    "Time to answer an extender call, by verb",
    ["verb"],
    buckets=_FAST,
)
SHED = Counter(
    "weighbridge_shed",
    "Calls and connections refused at once to protect the extender, by reason "
    "(in_flight: too many calls being answered; queue: calls wait too long for their "
    "turn; connections: too many open)",
    ["reason"],
)
for _reason in ("in_flight", "queue", "connections"):
    SHED.labels(_reason)  # every reason's series exists from the start, so alerts can judge
FILTER_REJECTIONS = Counter(
    "weighbridge_filter_rejections",
    "Nodes rejected, by filter",
    ["filter"],
)
FILTER_SECONDS = Histogram(
    "weighbridge_filter_duration_seconds",
    "Time one filter took over one request's candidate nodes",
    ["filter"],
    buckets=_FAST,
)
WEIGHER_SECONDS = Histogram(
    "weighbridge_weigher_duration_seconds",
    "Time one weigher took over one request's nodes",
    ["weigher"],
    buckets=_FAST,
)
CACHE_OBJECTS = Gauge(
    "weighbridge_cache_objects",
    "Objects in the extender's cache, by kind",
    ["kind"],
)
CACHE_SYNCED = Gauge(
    "weighbridge_cache_synced",
    "1 once the cache of this kind has finished its initial list",
    ["kind"],
)
WATCH_RESTARTS = Counter(
    "weighbridge_watch_restarts",
    "Watches restarted, by kind and reason (expired, error, closed, silent)",
    ["kind", "reason"],
)
WATCH_EVENTS = Counter(
    "weighbridge_watch_events",
    "Watch events applied to the cache, by kind and type",
    ["kind", "type"],
)
BINDS = Counter("weighbridge_binds", "Bind calls, by outcome", ["outcome"])
BIND_SECONDS = Histogram(
    "weighbridge_bind_duration_seconds",
    "Time to create a Binding through the API",
    buckets=_FAST,
)
ASSUMED_PODS = Gauge("weighbridge_assumed_pods", "Pods bound by the extender, not yet seen back")
ASSUMPTIONS_EXPIRED = Counter(
    "weighbridge_assumptions_expired",
    "Assumed placements dropped because the pod never showed up bound",
)
LEADER = Gauge(
    "weighbridge_leader",
    "1 while this replica is the active one (holds the Lease, caught up): it answers the verbs",
)
LEADER_ACQUISITIONS = Counter(
    "weighbridge_leader_acquisitions",
    "Times this replica became the active one (a failover, a hand-over or the first start)",
)
LEADER_FAILOVER_SECONDS = Gauge(
    "weighbridge_leader_last_failover_seconds",
    "At this replica's last acquisition: from the last Lease renewal it saw to answering",
)
PREEMPTION_DECISIONS = Counter(
    "weighbridge_preemption_decisions",
    "Preemption candidate nodes, by outcome (kept, trimmed, dropped)",
    ["outcome"],
)
REQUEUES = Counter(
    "weighbridge_requeues",
    "Rejected pods woken by an annotation patch after a change only weighbridge sees, by "
    "outcome (patched; gone: bound or deleted meanwhile; failed: refused or too slow)",
    ["outcome"],
)
for _outcome in ("patched", "gone", "failed"):
    REQUEUES.labels(_outcome)
EVENTS = Counter(
    "weighbridge_events",
    "Events on pods left with no node, by outcome (created, patched: a repeat added to its "
    "series; dropped: the queue was full; failed: the API server refused or was too slow)",
    ["outcome"],
)
for _outcome in ("created", "patched", "dropped", "failed"):
    EVENTS.labels(_outcome)

CAPACITY_PODS = Gauge(
    "weighbridge_capacity_pods",
    "How many more pods of a configured shape fit: in all (zone and aggregate empty), per "
    "zone (aggregate empty) and per aggregate (zone empty)",
    ["shape", "zone", "aggregate"],
)
CAPACITY_ALERT_BELOW = Gauge(
    "weighbridge_capacity_alert_below_pods",
    "The configured headroom of a shape under which WeighbridgeHeadroomLow fires",
    ["shape"],
)
CAPACITY_SECONDS = Gauge(
    "weighbridge_capacity_duration_seconds",
    "Time the last headroom count of a shape took",
    ["shape"],
)


@cache
def filter_children(name: str) -> tuple[Counter, Histogram]:
    """A filter's rejection counter and time histogram, looked up once per filter, not once
    per request."""
    return FILTER_REJECTIONS.labels(name), FILTER_SECONDS.labels(name)


@cache
def weigher_seconds(name: str) -> Histogram:
    return WEIGHER_SECONDS.labels(name)
