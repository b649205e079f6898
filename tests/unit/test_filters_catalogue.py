"""The catalogue as a whole: registry, Nova's defaults, which filters a plain pod engages,
where rejections go, and malformed annotations answered through the filter verb."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from catalogue_factories import aggregate, cluster, extender_filter, node, pod, request

from extender.contract import EXTRA_SPECS, HINTS, IMAGE_PROPERTIES
from extender.engine.filters import FILTERS
from extender.engine.scheduler import DEFAULT_FILTERS, DEFAULT_WEIGHERS
from extender.engine.weighers import WEIGHERS
from extender.model.options import MetricsOptions, Options
from extender.service.config import Config

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
        "IoOpsWeigher",
        "MetricsWeigher",
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


#: Filters that judge every pod: capacity, node health, and the isolation that keeps other
#: tenants and flavors off reserved nodes. Everything else costs a plain pod nothing.
ALWAYS_ENGAGED = {
    "AggregateCoreFilter",
    "AggregateDiskFilter",
    "AggregateIoOpsFilter",
    "AggregateMultiTenancyIsolation",
    "AggregateNumInstancesFilter",
    "AggregateRamFilter",
    "AggregateTypeAffinityFilter",
    "ComputeFilter",
    "CoreFilter",
    "DiskFilter",
    "ExactCoreFilter",
    "ExactDiskFilter",
    "ExactRamFilter",
    "IoOpsFilter",
    "NumInstancesFilter",
    "RamFilter",
}


def test_a_plain_pod_engages_only_what_it_must() -> None:
    state = cluster(node("n1"))
    spec = request(state, pod(requests={"cpu": "1", "memory": "1Gi"}))
    engaged = {name for name, cls in FILTERS.items() if cls(Options()).applies(spec)}
    assert engaged == ALWAYS_ENGAGED
    assert spec.retry is not None and not spec.retry.hosts  # RetryFilter: nothing to skip


def test_only_capacity_like_rejections_are_resolvable() -> None:
    resolvable = {name for name, cls in FILTERS.items() if cls.resolvable}
    assert resolvable == {
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
        "NUMATopologyFilter",
        "NumInstancesFilter",
        "PciPassthroughFilter",
        "RamFilter",
    }


def test_unknown_filter_names_stop_the_start() -> None:
    from extender.errors import ConfigError
    from extender.service.config import parse_config

    with pytest.raises(
        ConfigError, match="unknown filter TrustedFilter, filter TypeAffinityFilter"
    ):
        parse_config({"filters": ["TrustedFilter", "TypeAffinityFilter", "JsonFilter"]})


#: every filter but the whole-node ones, which no ordinary pod passes
EVERYTHING = sorted(
    NOVA_FILTERS - {"AllHostsFilter", "ExactCoreFilter", "ExactDiskFilter", "ExactRamFilter"}
)


@pytest.mark.parametrize(
    ("annotations", "reason"),
    [
        (
            {EXTRA_SPECS: "{not json"},
            "weighbridge: annotation weighbridge.io/extra-specs: not valid JSON",
        ),
        (
            {EXTRA_SPECS: '["a"]'},
            "weighbridge: annotation weighbridge.io/extra-specs: must be a JSON object, got list",
        ),
        (
            {EXTRA_SPECS: '{"a": [1]}'},
            "weighbridge: annotation weighbridge.io/extra-specs: value of 'a' must be a string",
        ),
        (
            {IMAGE_PROPERTIES: "[]"},
            "weighbridge: annotation weighbridge.io/image-properties: must be a JSON object",
        ),
        ({HINTS: "nope"}, "weighbridge: annotation weighbridge.io/hints: not valid JSON"),
        (
            {HINTS: '{"cidr": 24}'},
            "weighbridge: annotation weighbridge.io/hints: cidr must be a string",
        ),
        (
            {HINTS: '{"query": ["=", 1]}', EXTRA_SPECS: '{"opt": "= x"}'},
            # the first filter in order that reads a bad part refuses the pod
            "AggregateInstanceExtraSpecsFilter: annotation weighbridge.io/extra-specs: opt: "
            "'= x': = compares numbers and 'x' is not one",
        ),
        (
            {HINTS: '{"query": "[\\"xor\\", 1]"}'},
            'JsonFilter: annotation weighbridge.io/hints: query: unknown operator "xor"',
        ),
    ],
)
def test_malformed_annotations_are_answered_naming_them(
    annotations: dict[str, Any], reason: str
) -> None:
    agg = aggregate("a1", opt="1")
    state = cluster(node("n1", aggregates=["a1"]), node("n2"), agg)
    answer = extender_filter(
        state, pod(annotations=annotations), EVERYTHING, Options(metrics=MetricsOptions())
    )
    assert answer.NodeNames == []
    assert answer.FailedNodes == {}
    assert set(answer.FailedAndUnresolvableNodes) == {"n1", "n2"}
    (got,) = set(answer.FailedAndUnresolvableNodes.values())
    assert got.startswith(reason), got


def test_a_malformed_annotation_is_every_nodes_reason_whatever_the_filter_order() -> None:
    """Checked before any filter runs, so earlier filters do not hide the pod's mistake."""
    agg = aggregate("reserved", filter_tenant_id="finance")
    state = cluster(node("n1", aggregates=["reserved"]), node("n2"), agg)
    typo = pod("typo", "shop", annotations={HINTS: {"query": '["!=", 1, 2]'}})
    answer = extender_filter(state, typo, ["AggregateMultiTenancyIsolation", "JsonFilter"])
    assert set(answer.FailedAndUnresolvableNodes) == {"n1", "n2"}
    (reason,) = set(answer.FailedAndUnresolvableNodes.values())
    assert reason.startswith("JsonFilter: annotation weighbridge.io/hints: query: unknown operator")


def test_docs_table_covers_every_filter_and_weigher() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "filters.md").read_text()
    rows = {line.split("|")[1].strip() for line in doc.splitlines() if line.startswith("| ")}
    assert set(FILTERS) <= rows
    assert set(WEIGHERS) <= rows
