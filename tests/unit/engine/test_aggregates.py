"""Aggregate helpers and filters: per-aggregate ratios and maxima, tenant, flavor and
image-property isolation; aggregates are node labels plus HostAggregate metadata."""

from __future__ import annotations

from typing import Any

import pytest

from extender.cache.state import ClusterState
from extender.contract import FLAVOR, IMAGE_PROPERTIES
from extender.engine.filters import FILTERS
from extender.engine.filters.aggregates import (
    aggregate_metadata_get_by_host,
    aggregate_values_from_key,
    validate_num_values,
)
from extender.kube.objects import HostAggregate, Node
from extender.model.options import Options
from tests.builders import aggregate, cluster, node, pod, request_spec
from tests.unit.engine.helpers import check, passing, run


def _member(*aggs: HostAggregate, **node_kw: Any) -> Node:
    return node("n1", aggregates=[a.metadata.name for a in aggs], **node_kw)


# -- helpers (nova/scheduler/filters/utils.py) --------------------------------------------


def test_aggregate_values_from_key_are_raw() -> None:
    aggs = [aggregate("a1", k1="1"), aggregate("a2", k1="3"), aggregate("a3", k1="6,7")]
    state = cluster(_member(*aggs), *aggs)
    assert aggregate_values_from_key(state.table["n1"], "k1") == {"1", "3", "6,7"}
    assert aggregate_values_from_key(state.table["n1"], "k2") == set()


def test_aggregate_metadata_is_comma_split_and_stripped() -> None:
    aggs = [
        aggregate("a1", k1="1", k2="2"),
        aggregate("a2", k1="3", k2="4"),
        aggregate("a3", k1="6,7", k2="8, 9"),
        aggregate("a4", other="x"),
    ]
    state = cluster(_member(*aggs), *aggs)
    h = state.table["n1"]
    metadata = aggregate_metadata_get_by_host(h)
    assert metadata["k1"] == {"1", "3", "6", "7"}
    assert metadata["k2"] == {"2", "4", "8", "9"}
    # with a key, only the aggregates that have it contribute, with all their keys
    assert aggregate_metadata_get_by_host(h, "k1") == {
        "k1": {"1", "3", "6", "7"},
        "k2": {"2", "4", "8", "9"},
    }
    bare = cluster(node("n2"))
    assert aggregate_metadata_get_by_host(bare.table["n2"]) == {}


def test_validate_num_values() -> None:
    assert validate_num_values(set(), 7, int) == 7
    assert validate_num_values({"10", "9"}, 0, int) == 9  # numbers, not strings
    assert validate_num_values({"1.5", "0.75"}, 1.0, float) == 0.75
    with pytest.raises(ValueError):
        validate_num_values({"8.5"}, 8, int)


# -- Aggregate ratios ---------------------------------------------------------------------


def _ram_case(*ratios: str, request: str = "1000Mi") -> str | None:
    aggs = [aggregate(f"a{i}", ram_allocation_ratio=r) for i, r in enumerate(ratios)]
    used = pod("used", node_name="n1", requests={"memory": "600Mi"})
    state = cluster(_member(*aggs, memory="1Gi"), *aggs, used)
    return check("AggregateRamFilter", state, pod(requests={"memory": request}), "n1")


def test_aggregate_ram_ratio_overrides_the_node() -> None:
    # 1024Mi allocatable, 600Mi used, 1000Mi asked: ratio 1.0 leaves 424Mi
    assert _ram_case() == (
        "AggregateRamFilter: needs 1000Mi, more than usable memory (ratio 1) [node: 424Mi usable]"
    )
    assert _ram_case("2.0") is None  # 2048 - 600 = 1448Mi
    # the minimum across aggregates: 1.5 gives 936Mi
    assert _ram_case("2.0", "1.5") == (
        "AggregateRamFilter: needs 1000Mi, more than usable memory (ratio 1.5) [node: 936Mi usable]"
    )


@pytest.mark.parametrize("bad", ["XXX", "1.5,2", ""])
def test_an_unparsable_ratio_falls_back_to_the_node_for_the_whole_set(bad: str) -> None:
    assert _ram_case("2.0", bad) == (
        "AggregateRamFilter: needs 1000Mi, more than usable memory (ratio 1) [node: 424Mi usable]"
    )


def test_aggregate_ratio_falls_back_to_the_node_annotation() -> None:
    agg = aggregate("a0", ram_allocation_ratio="XXX")
    annotated = _member(
        agg, memory="1Gi", annotations={"weighbridge.io/ram-allocation-ratio": "2.0"}
    )
    used = pod("used", node_name="n1", requests={"memory": "600Mi"})
    state = cluster(annotated, agg, used)
    assert check("AggregateRamFilter", state, pod(requests={"memory": "1000Mi"}), "n1") is None


def test_no_self_overcommit_whatever_the_aggregate_ratio() -> None:
    reason = _ram_case("4.0", request="2Gi")
    assert reason == (
        "AggregateRamFilter: needs 2048Mi, more than the node's allocatable memory: a pod may "
        "not overcommit its own node [node: 1024Mi allocatable]"
    )


def test_aggregate_core_and_disk_ratios() -> None:
    aggs = [aggregate("a1", cpu_allocation_ratio="2", disk_allocation_ratio="2")]
    used = pod("used", node_name="n1", requests={"cpu": "3", "ephemeral-storage": "6Gi"})
    state = cluster(_member(*aggs, cpu="4", disk="8Gi"), *aggs, used)
    big_cpu = pod(requests={"cpu": "4"})
    assert check("CoreFilter", state, big_cpu, "n1") == (
        "CoreFilter: needs 4, more than free vCPUs (ratio 1) [node: 1 free]"
    )
    assert check("AggregateCoreFilter", state, big_cpu, "n1") is None  # 8 - 3 = 5
    big_disk = pod(requests={"ephemeral-storage": "4Gi"})
    assert check("DiskFilter", state, big_disk, "n1") is not None
    assert check("AggregateDiskFilter", state, big_disk, "n1") is None  # 16 - 6 = 10Gi


def test_aggregate_variants_have_no_column_fast_path_and_agree_in_the_engine() -> None:
    aggs = [aggregate("a1", ram_allocation_ratio="2.0")]
    used = [pod(f"u{i}", node_name=f"n{i}", requests={"memory": "600Mi"}) for i in (1, 2)]
    state = cluster(
        node("n1", memory="1Gi", aggregates=["a1"]), node("n2", memory="1Gi"), *aggs, *used
    )
    for name in (
        "AggregateRamFilter",
        "AggregateCoreFilter",
        "AggregateDiskFilter",
        "AggregateIoOpsFilter",
        "AggregateNumInstancesFilter",
    ):
        rows = state.table.rows()[0]
        assert (
            FILTERS[name](Options()).vector(state.table, rows, request_spec(state, pod())) is None
        )
    ask = pod(requests={"memory": "1000Mi"})
    assert passing(["AggregateRamFilter"], state, ask) == ["n1"]
    assert passing(["RamFilter"], state, ask) == []


# -- Aggregate maxima ---------------------------------------------------------------------


def _busy(count: int, starting: bool, *aggs: HostAggregate) -> ClusterState:
    phase = "Pending" if starting else "Running"
    pods = [pod(f"p{i}", node_name="n1", phase=phase) for i in range(count)]
    return cluster(_member(*aggs), *aggs, *pods)


def test_aggregate_io_ops() -> None:
    options = Options(max_io_ops_per_host=7)
    seven = _busy(7, True)
    assert check("AggregateIoOpsFilter", seven, pod(), "n1", options) == (
        "AggregateIoOpsFilter: pods starting or terminating on the node reach max_io_ops_per_host "
        "(7) [node: 7]"
    )
    raised = _busy(7, True, aggregate("a1", max_io_ops_per_host="8"))
    assert check("AggregateIoOpsFilter", raised, pod(), "n1", options) is None
    for bad in ("XXX", "8.5"):
        fallback = _busy(7, True, aggregate("a1", max_io_ops_per_host=bad))
        assert check("AggregateIoOpsFilter", fallback, pod(), "n1", Options()) is None
        assert check("AggregateIoOpsFilter", fallback, pod(), "n1", options) is not None


def test_aggregate_num_instances_takes_the_minimum() -> None:
    options = Options(max_instances_per_host=4)
    assert check("AggregateNumInstancesFilter", _busy(5, False), pod(), "n1", options)
    six = _busy(5, False, aggregate("a1", max_instances_per_host="6"))
    assert check("AggregateNumInstancesFilter", six, pod(), "n1", options) is None
    both = _busy(
        5,
        False,
        aggregate("a1", max_instances_per_host="6"),
        aggregate("a2", max_instances_per_host="3"),
    )
    assert check("AggregateNumInstancesFilter", both, pod(), "n1", options) == (
        "AggregateNumInstancesFilter: pods on the node reach max_instances_per_host (3) [node: 5]"
    )


# -- AggregateMultiTenancyIsolation -------------------------------------------------------


def test_multitenancy_isolation() -> None:
    mine = aggregate("mine", filter_tenant_id="my-tenant")
    others = aggregate("others", filter_tenant_id="other, other2")
    plain = aggregate("plain", disk="ssd")
    state = cluster(
        node("tagged", aggregates=["mine", "plain"]),
        node("foreign", aggregates=["others"]),
        node("untagged", aggregates=["plain"]),
        node("bare"),
        mine,
        others,
        plain,
    )
    assert passing(["AggregateMultiTenancyIsolation"], state, pod(namespace="my-tenant")) == [
        "bare",
        "tagged",
        "untagged",
    ]
    assert passing(["AggregateMultiTenancyIsolation"], state, pod(namespace="other2")) == [
        "bare",
        "foreign",
        "untagged",
    ]
    reason = check("AggregateMultiTenancyIsolation", state, pod(namespace="x"), "foreign")
    assert reason == (
        "AggregateMultiTenancyIsolation: node is reserved for other namespaces than x "
        "[node: reserved for other, other2]"
    )
    result = run(["AggregateMultiTenancyIsolation"], state, pod(namespace="x"))
    assert set(result.unresolvable) == {"tagged", "foreign"}


# -- AggregateTypeAffinityFilter ----------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "flavor", "passes"),
    [
        (["fake1"], "fake1", True),
        (["fake1"], "fake2", False),
        (["fake1,fake2"], "fake1", True),
        (["fake1, fake2"], "fake2", True),
        (["fake1,fake2"], "fake3", False),
        (["fake1", "fake2"], "fake2", True),
        (["fake1", "fake2"], "fake3", False),
        ([], "fake3", True),
    ],
)
def test_type_affinity(values: list[str], flavor: str, passes: bool) -> None:
    aggs = [aggregate(f"a{i}", instance_type=v) for i, v in enumerate(values)]
    state = cluster(_member(*aggs), *aggs)
    reason = check("AggregateTypeAffinityFilter", state, pod(annotations={FLAVOR: flavor}), "n1")
    assert (reason is None) is passes


def test_type_affinity_without_a_flavor() -> None:
    aggs = [aggregate("big", instance_type="m1.large")]
    state = cluster(node("typed", aggregates=["big"]), node("any"), *aggs)
    assert passing(["AggregateTypeAffinityFilter"], state, pod()) == ["any"]
    assert check("AggregateTypeAffinityFilter", state, pod(), "typed") == (
        "AggregateTypeAffinityFilter: node takes other flavors, the pod has no "
        "weighbridge.io/flavor [node: takes m1.large]"
    )


# -- AggregateImagePropertiesIsolation ----------------------------------------------------


def _isolation(metadata: dict[str, str], props: dict[str, Any] | None, **opts: Any) -> str | None:
    agg = aggregate("a1", **metadata)
    state = cluster(_member(agg), agg)
    annotations = {IMAGE_PROPERTIES: props} if props is not None else {}
    return check(
        "AggregateImagePropertiesIsolation",
        state,
        pod(annotations=annotations),
        "n1",
        Options(**opts),
    )


def test_image_properties_isolation_nova_cases() -> None:
    assert _isolation({"hw_vm_mode": "hvm"}, {"hw_vm_mode": "hvm"}) is None
    assert _isolation({"hw_vm_mode": "hvm"}, {"hw_vm_mode": "xen"}) == (
        "AggregateImagePropertiesIsolation: image property hw_vm_mode='xen' is not allowed by "
        "the node's aggregates [node: allowed hvm]"
    )
    assert _isolation({"hw_vm_mode": "hvm"}, {"os_type": "linux"}) is None
    assert _isolation({"hw_vm_mode": "hvm"}, None) is None
    assert _isolation({"hw_vm_mode": "hvm,xen"}, {"hw_vm_mode": "hvm"}) is None
    assert _isolation({"os_distro": "windows,linux"}, {"os_distro": "windows,"}) is not None
    assert _isolation({"hw_cpu_cores": "1"}, {"hw_cpu_cores": 2}) is not None
    assert _isolation({"hw_cpu_cores": "2"}, {"hw_cpu_cores": 2}) is None
    assert _isolation({"secure": "true"}, {"secure": True}) is None


def test_image_properties_isolation_namespace() -> None:
    meta = {"hw_vm_mode": "hvm", "img_owner_id": "wrong"}
    props = {"hw_vm_mode": "hvm", "img_owner_id": "owner"}
    opts = {
        "aggregate_image_properties_isolation_namespace": "hw",
        "aggregate_image_properties_isolation_separator": "_",
    }
    assert _isolation(meta, props, **opts) is None
    assert _isolation(meta, props) is not None
    assert _isolation(meta, {**props, "hw_vm_mode": "xen"}, **opts) is not None
