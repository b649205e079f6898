"""Property: every registered filter's and weigher's column fast path (`vector`) agrees with
its per-host rule (Nova's reference semantics), in two random worlds:

- HostTables of HostStates with random capacities, ratios, counts, zones and zoned
  aggregates, under random options, so that the boundaries ("requested == usable", "count ==
  maximum") come up often;
- clusters built from Nodes, Pods and HostAggregates (server groups, devices, failed binds,
  tenant, flavor and image isolation), with random requests over random subsets of nodes.

The filters and weighers come from the registries: a plugin whose class overrides `vector`
is covered here without editing this file. A fast path may decline a request (return None,
as the aggregate variants of the capacity filters always do); the scheduler then asks the
per-host rule, and there is nothing to compare.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from extender.cache.state import ClusterState
from extender.contract import (
    FLAVOR,
    IMAGE_PROPERTIES,
    SERVER_GROUP_LABEL,
    SERVER_GROUP_POLICY,
    ZONE_LABEL,
)
from extender.engine.filters import FILTERS, BaseFilter
from extender.engine.weighers import WEIGHERS, BaseWeigher
from extender.kube.objects import HostAggregate, Node, Pod
from extender.model.hoststate import Aggregate, HostState
from extender.model.options import Options
from extender.model.request import RequestSpec
from extender.model.table import HostTable, IntArray
from tests.builders import aggregate, cluster, node, pod, request_spec

#: Every registered filter and weigher with a fast path of its own.
FAST_FILTERS = sorted(name for name, cls in FILTERS.items() if cls.vector is not BaseFilter.vector)
FAST_WEIGHERS = sorted(
    name for name, cls in WEIGHERS.items() if cls.vector is not BaseWeigher.vector
)

#: Fast paths that answer every request: capacity, node health and zones.
FILTER_EVERY_REQUEST = {
    "AvailabilityZoneFilter",
    "ComputeFilter",
    "RamFilter",
    "DiskFilter",
    "CoreFilter",
    "NumInstancesFilter",
    "IoOpsFilter",
}
#: Fast paths that answer every request that engages them: server groups and isolation.
FILTER_WHEN_ENGAGED = {
    "ServerGroupAffinityFilter",
    "ServerGroupAntiAffinityFilter",
    "AggregateMultiTenancyIsolation",
    "AggregateTypeAffinityFilter",
    "AggregateImagePropertiesIsolation",
}
#: Fast paths that weigh every request.
WEIGHER_EVERY_REQUEST = {"RAMWeigher", "CPUWeigher", "DiskWeigher", "IoOpsWeigher"}
#: Fast paths that decline only requests that do not engage them or that weigh 0 everywhere.
WEIGHER_WHEN_ENGAGED = {
    "ServerGroupSoftAffinityWeigher",
    "ServerGroupSoftAntiAffinityWeigher",
    "PCIWeigher",
    "BuildFailureWeigher",
}


def test_every_fast_path_is_covered() -> None:
    """The lists come from the registries, and hold at least the fast paths known when the
    lists were written by hand."""
    assert FAST_FILTERS and FAST_WEIGHERS
    assert set(FAST_FILTERS) >= FILTER_EVERY_REQUEST | FILTER_WHEN_ENGAGED
    assert set(FAST_WEIGHERS) >= WEIGHER_EVERY_REQUEST | WEIGHER_WHEN_ENGAGED


def assert_filters_agree(
    table: HostTable, rows: IntArray, spec: RequestSpec, opts: Options
) -> None:
    for name in FAST_FILTERS:
        f = FILTERS[name](opts)
        mask = f.vector(table, rows, spec)
        if mask is None:
            assert name not in FILTER_EVERY_REQUEST, f"{name} lost its fast path"
            assert name not in FILTER_WHEN_ENGAGED or not f.applies(spec), name
            continue
        verdicts = [f.host_passes(table.hosts[r], spec) for r in rows]
        assert mask.tolist() == [why is None for why in verdicts], name
        # the reasons found in bulk for the rejected rows are the per-host rule's
        failing = [why for why in verdicts if why is not None]
        assert f.reasons(table, rows[~mask], spec) == failing, name


def assert_weighers_agree(table: HostTable, rows: IntArray, spec: RequestSpec) -> None:
    for name in FAST_WEIGHERS:
        w = WEIGHERS[name](Options(), 1.0)
        values = w.vector(table, rows, spec)
        expected = [w._weigh_object(table.hosts[r], spec) for r in rows]
        if values is None:
            assert name not in WEIGHER_EVERY_REQUEST, f"{name} lost its fast path"
            assert name not in WEIGHER_WHEN_ENGAGED or not w.applies(spec) or not any(expected)
            continue
        assert values.tolist() == expected, name


# -- random HostTables -------------------------------------------------------------------------

# small grids, so that "requested == usable" and "count == maximum" come up often
ratios = st.sampled_from([0.5, 1.0, 1.5, 2.0, 16.0])
amounts = st.integers(0, 8).map(lambda n: n * 512.0)
cores = st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 4.0, 7.91, 8.0])
zones = st.sampled_from([None, "az-1", "az-2", "nova"])
zoned_aggregates = st.lists(
    st.builds(
        lambda az: Aggregate("agg", {} if az is None else {"availability_zone": az}),
        st.sampled_from([None, "az-1", "az-2, az-3", " , "]),
    ),
    max_size=2,
)


@st.composite
def hosts(draw: st.DrawFn, name: str) -> HostState:
    h = HostState(name)
    h.total_usable_ram_mb = draw(amounts)
    h.free_ram_mb = h.total_usable_ram_mb - draw(amounts)
    h.total_usable_disk_gb = draw(amounts) / 1024
    h.disk_mb_used = draw(amounts)
    h.free_disk_mb = h.total_usable_disk_gb * 1024 - h.disk_mb_used
    h.vcpus_total = draw(cores)
    h.vcpus_used = draw(cores)
    h.cpu_allocation_ratio = draw(ratios)
    h.ram_allocation_ratio = draw(ratios)
    h.disk_allocation_ratio = draw(ratios)
    h.num_instances = draw(st.integers(0, 6))
    h.num_io_ops = draw(st.integers(0, h.num_instances))
    h.service = {"disabled": draw(st.booleans()), "up": draw(st.booleans())}
    label = draw(zones)
    if label is not None:
        h.labels = {ZONE_LABEL: label}
    h.aggregates = draw(zoned_aggregates)
    return h


@st.composite
def tables(draw: st.DrawFn) -> HostTable:
    # more hosts than the initial capacity, so the table grows too
    count = draw(st.integers(1, 40))
    table = HostTable(capacity=8)
    for i in range(count):
        table.add(draw(hosts(f"h{i}")))
    for name in draw(
        st.lists(st.sampled_from([f"h{i}" for i in range(count)]), unique=True, max_size=count - 1)
    ):
        table.remove(name)
    return table


specs = st.builds(
    lambda ram, cpu, disk_gb, zone: RequestSpec(
        uid="u",
        name="p",
        project_id="ns",
        memory_mb=ram,
        vcpus=cpu,
        root_gb=disk_gb,
        availability_zone=zone,
    ),
    amounts,
    cores,
    amounts.map(lambda mb: mb / 1024),
    zones,
)
options = st.builds(
    Options,
    max_io_ops_per_host=st.integers(0, 6),
    max_instances_per_host=st.integers(0, 6),
    default_schedule_zone=zones,
)


@settings(max_examples=200, deadline=None)
@given(tables(), specs, options, st.data())
def test_filters_agree_on_random_hosts(
    table: HostTable, spec: RequestSpec, opts: Options, data: st.DataObject
) -> None:
    rows = np.array(data.draw(st.permutations(range(len(table)))), dtype=np.intp)
    assert_filters_agree(table, rows, spec, opts)


@settings(max_examples=200, deadline=None)
@given(tables(), specs)
def test_weighers_agree_on_random_hosts(table: HostTable, spec: RequestSpec) -> None:
    assert_weighers_agree(table, np.arange(len(table), dtype=np.intp)[::-1], spec)


# -- random clusters -------------------------------------------------------------------------

GPU = "nvidia.com/gpu"
AGGREGATES = [
    aggregate("tenants", filter_tenant_id="shop, x"),
    aggregate("others", filter_tenant_id="lab"),
    aggregate("flavors", instance_type="small,medium"),
    aggregate("images", os_distro="linux"),
    aggregate("plain", disk="ssd"),
]
POLICIES = ["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"]

Scenario = tuple[ClusterState, Pod, list[str]]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    count = draw(st.integers(1, 12))
    names = [f"n{i}" for i in range(count)]
    agg_names = [a.metadata.name for a in AGGREGATES]
    objects: list[Node | Pod | HostAggregate] = [
        node(
            n,
            extended={GPU: str(draw(st.sampled_from([0, 1, 4, 99, 100, 150])))},
            aggregates=draw(st.lists(st.sampled_from(agg_names), unique=True, max_size=3)),
        )
        for n in names
    ]
    objects += AGGREGATES
    placed = draw(
        st.lists(
            st.tuples(
                st.sampled_from(names),
                st.sampled_from(["shop", "lab"]),
                st.sampled_from(["db", "web", None]),
                st.integers(0, 1),
            ),
            max_size=20,
        )
    )
    for i, (where, namespace, group, gpus) in enumerate(placed):
        labels = {SERVER_GROUP_LABEL: group} if group else {}
        objects.append(
            pod(
                f"p{i}",
                namespace,
                uid=f"u{i}",
                node_name=where,
                labels=labels,
                requests={GPU: str(gpus)},
            )
        )
    state = cluster(*objects)
    for where in draw(st.lists(st.sampled_from(names), max_size=6)):
        state.bind_failed(draw(st.sampled_from(["x", "y"])), where)
    uid = draw(st.sampled_from([f"u{i}" for i in range(len(placed))] + ["new"]))
    annotations: dict[str, object] = {SERVER_GROUP_POLICY: draw(st.sampled_from(POLICIES))}
    flavor = draw(st.sampled_from(["small", "large", None]))
    if flavor:
        annotations[FLAVOR] = flavor
    distro = draw(st.sampled_from(["linux", "windows", None]))
    if distro:
        annotations[IMAGE_PROPERTIES] = {"os_distro": distro}
    asking = pod(
        "new",
        draw(st.sampled_from(["shop", "lab", "x"])),
        uid=uid,
        labels={SERVER_GROUP_LABEL: draw(st.sampled_from(["db", "web"]))},
        annotations=annotations,
        requests={GPU: str(draw(st.integers(0, 2)))},
    )
    subset = draw(st.lists(st.sampled_from(names), unique=True, min_size=1))
    return state, asking, subset


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_filters_agree_on_random_clusters(scenario: Scenario) -> None:
    state, asking, subset = scenario
    rows, _ = state.table.rows(subset)
    assert_filters_agree(state.table, rows, request_spec(state, asking), Options())


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_weighers_agree_on_random_clusters(scenario: Scenario) -> None:
    state, asking, subset = scenario
    rows, _ = state.table.rows(subset)
    assert_weighers_agree(state.table, rows, request_spec(state, asking))
