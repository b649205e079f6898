"""The public contract with users: every label, annotation, prefix, aggregate metadata key
and resource name that people write into their Nodes, Pods and HostAggregates.

Once shipped these names are an API: changing one breaks users' manifests. Keeping them in
one module makes the contract reviewable at a glance (ARCHITECTURE section 3) and lets
docs and tests check against it.
"""

from __future__ import annotations

#: the label and annotation domain
DOMAIN = "weighbridge.io"
PREFIX = DOMAIN + "/"

# -- custom resources ---------------------------------------------------------------------

#: HostAggregate objects (aggregate metadata) live in this API group and version
API_GROUP = DOMAIN
API_VERSION = "v1alpha1"
HOST_AGGREGATE_KIND = "HostAggregate"
HOST_AGGREGATE_PLURAL = "hostaggregates"

# -- nodes (Nova's hosts) -----------------------------------------------------------------

#: a node is a member of aggregate <name> when it carries the label PREFIX<name>
AGGREGATE_LABEL_PREFIX = "aggregate." + PREFIX
#: node annotations under this prefix are Nova's host stats (ComputeCapabilitiesFilter)
STATS_ANNOTATION_PREFIX = "stats." + PREFIX
#: node annotations under this prefix are Nova's host metrics (MetricsFilter, MetricsWeigher)
METRICS_ANNOTATION_PREFIX = "metrics." + PREFIX
#: per-node allocation ratios, by HostState resource
RATIO_ANNOTATIONS = {
    "cpu": PREFIX + "cpu-allocation-ratio",
    "ram": PREFIX + "ram-allocation-ratio",
    "disk": PREFIX + "disk-allocation-ratio",
}
#: Kubernetes' well-known labels the extender reads
#: when the node's metrics were measured (RFC 3339); with `metrics.max_age_seconds` set,
#: older metrics, or metrics without it, count as unavailable
METRICS_TIMESTAMP = PREFIX + "metrics-timestamp"
ZONE_LABEL = "topology.kubernetes.io/zone"
ARCH_LABEL = "kubernetes.io/arch"
OS_LABEL = "kubernetes.io/os"

# -- aggregate metadata keys Nova knows (HostAggregate spec.metadata) ---------------------

#: puts the aggregate's members in these zones (comma-separated, as Nova allows)
AVAILABILITY_ZONE_KEY = "availability_zone"
#: namespaces (Nova's tenants) the aggregate's members are reserved for; as in Nova
#: (2023.2), every key that starts with it counts (`filter_tenant_id_2`, ...)
TENANT_KEY = "filter_tenant_id"
#: every weigher's per-aggregate multiplier key ends so (`ram_weight_multiplier`, ...)
WEIGHT_MULTIPLIER_SUFFIX = "_weight_multiplier"
#: flavors the aggregate's members take
INSTANCE_TYPE_KEY = "instance_type"

# -- pods (Nova's RequestSpec) ------------------------------------------------------------

FLAVOR = PREFIX + "flavor"
EXTRA_SPECS = PREFIX + "extra-specs"
IMAGE_PROPERTIES = PREFIX + "image-properties"
IMAGE_ID = PREFIX + "image-id"
HINTS = PREFIX + "hints"
AVAILABILITY_ZONE = PREFIX + "availability-zone"
FORCE_HOSTS = PREFIX + "force-hosts"
IGNORE_HOSTS = PREFIX + "ignore-hosts"
SERVER_GROUP_LABEL = PREFIX + "server-group"
SERVER_GROUP_POLICY = PREFIX + "server-group-policy"
GROUP_POLICIES = ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")
#: Nova's server-group rules, a JSON object: {"max_server_per_host": N} for anti-affinity
SERVER_GROUP_RULES = PREFIX + "server-group-rules"
MAX_SERVER_PER_HOST = "max_server_per_host"
NUMA_POLICY = PREFIX + "numa-policy"
NUMA_POLICIES = ("single-numa-node",)

# -- resource names (Kubernetes' own, mapped onto Nova's RAM, vCPUs and disk) -------------

CPU = "cpu"
MEMORY = "memory"
EPHEMERAL = "ephemeral-storage"
PODS = "pods"

#: Patched onto a pod the extender rejected when a change only it sees may let it fit:
#: kube-scheduler retries a pod on any update of it (config.requeue)
REQUEUE_ANNOTATION = PREFIX + "requeue"

#: The EndpointSlice the active replica writes for the Service says it manages it, so
#: that Kubernetes' own EndpointSlice controller leaves it alone.
LEADER_ENDPOINTS_MANAGER = "leader." + PREFIX.rstrip("/")
