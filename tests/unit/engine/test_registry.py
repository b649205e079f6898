"""The registries: every filter and weigher of Nova's catalogue by name, Nova's defaults,
which filters a plain pod engages, which rejections preemption may cure, and the docs table
that lists them all."""

from __future__ import annotations

from extender.engine.filters import FILTERS
from extender.engine.scheduler import DEFAULT_FILTERS, DEFAULT_WEIGHERS
from extender.engine.weighers import WEIGHERS
from extender.model.options import MetricsOptions, Options
from extender.service.config import Config
from tests import REPO
from tests.builders import cluster, node, pod, request_spec
from tests.unit.engine.helpers import run

NOVA_FILTERS = {
    "AggregateCoreFilter",
    "AggregateDiskFilter",
    "AggregateImagePropertiesIsolation",
    "AggregateInstanceExtraSpecsFilter",
    "AggregateIoOpsFilter",
    "AggregateMultiTenancyIsolation",
    "AggregateNumInstancesFilter",
    "AggregateRamFilter",
    "AggregateTypeAffinityFilter",
    "AllHostsFilter",
    "AvailabilityZoneFilter",
    "ComputeCapabilitiesFilter",
    "ComputeFilter",
    "CoreFilter",
    "DifferentHostFilter",
    "DiskFilter",
    "ExactCoreFilter",
    "ExactDiskFilter",
    "ExactRamFilter",
    "ImagePropertiesFilter",
    "IoOpsFilter",
    "IsolatedHostsFilter",
    "JsonFilter",
    "MetricsFilter",
    "NUMATopologyFilter",
    "NumInstancesFilter",
    "PciPassthroughFilter",
    "RamFilter",
    "RetryFilter",
    "SameHostFilter",
    "ServerGroupAffinityFilter",
    "ServerGroupAntiAffinityFilter",
    "SimpleCIDRAffinityFilter",
}


def test_registry_holds_nova_catalogue() -> None:
    assert set(FILTERS) == NOVA_FILTERS
    assert set(WEIGHERS) == {
        "BuildFailureWeigher",
        "CPUWeigher",
        "DiskWeigher",
        "HypervisorVersionWeigher",
        "ImagePropertiesWeigher",
        "IoOpsWeigher",
        "MetricsWeigher",
        "NumInstancesWeigher",
        "PCIWeigher",
        "RAMWeigher",
        "ServerGroupSoftAffinityWeigher",
        "ServerGroupSoftAntiAffinityWeigher",
    }


def test_defaults_are_novas() -> None:
    assert DEFAULT_FILTERS == [
        "RetryFilter",
        "AvailabilityZoneFilter",
        "RamFilter",
        "DiskFilter",
        "ComputeFilter",
        "ComputeCapabilitiesFilter",
        "ImagePropertiesFilter",
        "ServerGroupAntiAffinityFilter",
        "ServerGroupAffinityFilter",
    ]
    assert DEFAULT_WEIGHERS == {
        "RAMWeigher": 1.0,
        "CPUWeigher": 1.0,
        "DiskWeigher": 1.0,
        "IoOpsWeigher": -1.0,
        "PCIWeigher": 1.0,
        "ServerGroupSoftAffinityWeigher": 1.0,
        "ServerGroupSoftAntiAffinityWeigher": 1.0,
        "MetricsWeigher": 1.0,
        "BuildFailureWeigher": 1_000_000.0,
        "NumInstancesWeigher": 0.0,
        "HypervisorVersionWeigher": 0.0,
        "ImagePropertiesWeigher": 0.0,
    }
    config = Config()
    assert config.filters == DEFAULT_FILTERS
    opts = config.options
    assert (opts.isolated_images, opts.isolated_hosts) == ([], [])
    assert opts.restrict_isolated_hosts_to_isolated_images is True
    assert opts.aggregate_image_properties_isolation_namespace is None
    assert opts.aggregate_image_properties_isolation_separator == "."
    assert opts.metrics == MetricsOptions(
        weight_setting=[], required=True, weight_of_unavailable=-10000.0
    )
    assert opts.max_attempts == 3


#: The capacity filters: they judge every pod.
CAPACITY = {
    "AggregateCoreFilter",
    "AggregateDiskFilter",
    "AggregateIoOpsFilter",
    "AggregateNumInstancesFilter",
    "AggregateRamFilter",
    "CoreFilter",
    "DiskFilter",
    "ExactCoreFilter",
    "ExactDiskFilter",
    "ExactRamFilter",
    "IoOpsFilter",
    "NumInstancesFilter",
    "RamFilter",
}
#: Filters that judge every pod: capacity, node health, and the isolation that keeps other
#: tenants and flavors off reserved nodes. Everything else costs a plain pod nothing.
ALWAYS_ENGAGED = CAPACITY | {
    "AggregateMultiTenancyIsolation",
    "AggregateTypeAffinityFilter",
    "ComputeFilter",
}


def test_a_plain_pod_engages_only_what_it_must() -> None:
    state = cluster(node("n1"))
    spec = request_spec(state, pod(requests={"cpu": "1", "memory": "1Gi"}))
    engaged = {name for name, cls in FILTERS.items() if cls(Options()).applies(spec)}
    assert engaged == ALWAYS_ENGAGED
    assert spec.retry is not None and not spec.retry.hosts  # RetryFilter: nothing to skip


#: Pod counts: no plugin of kube-scheduler counts against these maximums, so its dry run
#: never proposes victims for them.
COUNTS = {
    "AggregateIoOpsFilter",
    "AggregateNumInstancesFilter",
    "IoOpsFilter",
    "NumInstancesFilter",
}


def test_only_rejections_kube_schedulers_preemption_cures_are_resolvable() -> None:
    """What NodeResourcesFit also measures (memory, cpu, disk, devices) and the Exact
    filters (the dry run frees a whole node for a whole-node pod) may be cured; pod counts
    and NUMA zones may not (docs/filters.md, "Res.")."""
    resolvable = {name for name, cls in FILTERS.items() if cls.resolvable}
    assert resolvable == (CAPACITY - COUNTS) | {"PciPassthroughFilter"}


def test_a_ratio_below_one_is_unresolvable() -> None:
    """Below 1 the ratio is stricter than NodeResourcesFit, so the dry run frees too little."""
    state = cluster(
        node("strict", memory="4Gi", annotations={"weighbridge.io/ram-allocation-ratio": "0.5"}),
        node("full", memory="4Gi"),
        pod(node_name="full", requests={"memory": "3Gi"}),
    )
    result = run(["RamFilter"], state, pod(requests={"memory": "3Gi"}))
    assert (set(result.failed), set(result.unresolvable)) == ({"full"}, {"strict"})


def test_docs_table_covers_every_filter_and_weigher() -> None:
    doc = (REPO / "docs" / "filters.md").read_text()
    rows = {line.split("|")[1].strip() for line in doc.splitlines() if line.startswith("| ")}
    assert set(FILTERS) <= rows
    assert set(WEIGHERS) <= rows
