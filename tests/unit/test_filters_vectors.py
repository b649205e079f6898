"""Property: the catalogue's column fast paths agree with their per-host rules, on random
clusters built from Nodes, Pods and HostAggregates (server groups, devices, failed binds,
tenant, flavor and image isolation) and random requests, over random subsets of the nodes."""

from __future__ import annotations

from typing import Any

import numpy as np
from catalogue_factories import aggregate, cluster, node, pod, request
from hypothesis import given, settings
from hypothesis import strategies as st

from extender.contract import FLAVOR, IMAGE_PROPERTIES, SERVER_GROUP_LABEL, SERVER_GROUP_POLICY
from extender.engine.filters import FILTERS
from extender.engine.weighers import WEIGHERS
from extender.model.options import Options

GPU = "nvidia.com/gpu"
VECTOR_FILTERS = [
    "ServerGroupAffinityFilter",
    "ServerGroupAntiAffinityFilter",
    "AggregateMultiTenancyIsolation",
    "AggregateTypeAffinityFilter",
    "AggregateImagePropertiesIsolation",
]
AGGREGATES = [
    aggregate("tenants", filter_tenant_id="shop, x"),
    aggregate("others", filter_tenant_id="lab"),
    aggregate("flavors", instance_type="small,medium"),
    aggregate("images", os_distro="linux"),
    aggregate("plain", disk="ssd"),
]
VECTOR_WEIGHERS = [
    "ServerGroupSoftAffinityWeigher",
    "ServerGroupSoftAntiAffinityWeigher",
    "PCIWeigher",
    "BuildFailureWeigher",
]
POLICIES = ["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Any, dict[str, Any], list[str]]:
    count = draw(st.integers(1, 12))
    names = [f"n{i}" for i in range(count)]
    agg_names = [a["metadata"]["name"] for a in AGGREGATES]
    objects: list[dict[str, Any]] = [
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
    annotations: dict[str, Any] = {SERVER_GROUP_POLICY: draw(st.sampled_from(POLICIES))}
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
def test_vector_filters_agree_with_check(scenario: tuple[Any, dict[str, Any], list[str]]) -> None:
    state, asking, subset = scenario
    table = state.table
    rows, _ = table.rows(subset)
    spec = request(state, asking)
    for name in VECTOR_FILTERS:
        f = FILTERS[name](Options())
        if not f.applies(spec):
            continue
        mask = f.vector(table, rows, spec)
        assert mask is not None
        expected = [f.host_passes(table.hosts[r], spec) is None for r in rows]
        assert mask.tolist() == expected, name


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_vector_weighers_agree_with_weigh(scenario: tuple[Any, dict[str, Any], list[str]]) -> None:
    state, asking, subset = scenario
    table = state.table
    rows, _ = table.rows(subset)
    spec = request(state, asking)
    for name in VECTOR_WEIGHERS:
        w = WEIGHERS[name](Options(), 1.0)
        values = w.vector(table, rows, spec)
        expected = np.array([w._weigh_object(table.hosts[r], spec) for r in rows])
        if values is None:
            assert not w.applies(spec) or not expected.any(), name
            continue
        assert np.array_equal(values, expected), name
