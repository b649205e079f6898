"""The cluster view: nodes, the pods that consume them, aggregates, server groups, columns."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extender.cache.state import ClusterState
from extender.errors import ObjectError
from extender.model.options import Options
from extender.model.table import FIELDS
from tests.builders import aggregate, cluster, node, pod


def test_bound_pods_consume_their_node_and_terminal_ones_do_not() -> None:
    state = cluster(
        node("a", memory="8Gi"),
        node("b", memory="8Gi"),
        pod(node_name="a", requests={"memory": "1Gi"}),
        pod(node_name="a", requests={"memory": "1Gi"}, phase="Succeeded"),
        pod(node_name="a", requests={"memory": "1Gi"}, phase="Failed"),
        pod(requests={"memory": "1Gi"}, phase="Pending"),  # not bound: consumes nothing
    )
    assert state.table["a"].free_ram_mb == 7 * 1024
    assert state.table["a"].num_instances == 1
    assert state.table["b"].free_ram_mb == 8 * 1024
    assert state.pod_count == 1


def test_a_pod_that_finishes_releases_its_node() -> None:
    state = cluster(node("a", memory="8Gi"))
    state.upsert_pod(pod("job", uid="j", node_name="a", requests={"memory": "2Gi"}))
    assert state.table["a"].free_ram_mb == 6 * 1024
    state.upsert_pod(
        pod("job", uid="j", node_name="a", requests={"memory": "2Gi"}, phase="Succeeded")
    )
    assert state.table["a"].free_ram_mb == 8 * 1024
    assert state.table["a"].num_instances == 0


def test_a_pod_that_moves_is_released_by_the_old_node() -> None:
    state = cluster(node("a", cpu="4"), node("b", cpu="4"))
    state.upsert_pod(pod("p", uid="p", node_name="a", requests={"cpu": "3"}))
    state.upsert_pod(pod("p", uid="p", node_name="b", requests={"cpu": "3"}))
    assert state.table["a"].vcpus_used == 0
    assert state.table["a"].num_instances == 0
    assert state.table["b"].vcpus_used == 3
    state.delete_pod("p")
    assert state.table["b"].vcpus_used == 0
    assert state.pod_count == 0


def test_pods_of_an_unknown_node_wait_and_apply_when_it_arrives() -> None:
    state = cluster(node("a"))
    state.upsert_pod(pod(uid="p1", node_name="late", requests={"memory": "1Gi"}))
    state.upsert_pod(pod(uid="p2", node_name="late", requests={"memory": "1Gi"}))
    assert set(state.orphans["late"]) == {"p1", "p2"}
    state.delete_pod("p2")
    state.upsert_node(node("late", memory="4Gi"))
    host = state.table["late"]
    assert host.free_ram_mb == 3 * 1024
    assert set(host.instances) == {"p1"}
    assert "late" not in state.orphans


def test_node_delete_and_re_add_keeps_its_pods() -> None:
    state = cluster(node("a", memory="8Gi"), node("b"))
    state.upsert_pod(pod(uid="p1", node_name="a", requests={"memory": "2Gi"}))
    state.upsert_pod(pod(uid="p2", node_name="a", requests={"memory": "1Gi"}))
    state.delete_node("a")
    assert state.table.get("a") is None
    assert state.node_count == 1
    state.delete_pod("p2")  # deleted while its node was away
    state.upsert_node(node("a", memory="8Gi"))
    assert state.table["a"].free_ram_mb == 6 * 1024
    assert state.table["a"].num_instances == 1
    assert_columns_match(state)


def test_a_bad_node_is_refused_and_the_cache_is_unchanged() -> None:
    state = cluster(node("a", memory="8Gi"))
    with pytest.raises(ObjectError):
        state.upsert_node(
            node("a", memory="16Gi", annotations={"weighbridge.io/cpu-allocation-ratio": "x"})
        )
    assert state.table["a"].total_usable_ram_mb == 8192
    assert_columns_match(state)
    with pytest.raises(ObjectError):
        state.upsert_node(
            node("new", memory="16Gi", annotations={"weighbridge.io/cpu-allocation-ratio": "x"})
        )
    assert state.table.get("new") is None


def test_allocation_ratio_defaults_come_from_the_options() -> None:
    state = cluster(node("a"), options=Options(cpu_allocation_ratio=4.0))
    assert state.table["a"].cpu_allocation_ratio == 4.0
    assert state.table.column("cpu_allocation_ratio")[state.table.index["a"]] == 4.0


def test_aggregates_from_labels_and_objects() -> None:
    state = cluster(
        node("a", aggregates=["ssd", "edge"]),
        node("b", aggregates=["ssd"]),
        node("c"),
        aggregate("ssd", disk_type="ssd"),
        aggregate("empty"),
    )
    assert state.aggregates["ssd"].hosts == {"a", "b"}
    assert state.aggregates["edge"].hosts == {"a"}
    assert state.aggregates["edge"].metadata == {}
    assert state.aggregates["empty"].hosts == set()
    assert [a.name for a in state.table["a"].aggregates] == ["edge", "ssd"]
    # metadata is shared: a change reaches every member at once
    state.upsert_aggregate(aggregate("ssd", disk_type="nvme"))
    assert state.table["b"].aggregates[0].metadata == {"disk_type": "nvme"}
    # a node leaves an aggregate by losing its label; an unused label-only aggregate goes
    state.upsert_node(node("a", aggregates=["ssd"]))
    assert "edge" not in state.aggregates
    assert [a.name for a in state.table["a"].aggregates] == ["ssd"]
    # deleting the object keeps the labelled membership, without metadata
    state.delete_aggregate("ssd")
    assert state.aggregates["ssd"].hosts == {"a", "b"}
    assert state.aggregates["ssd"].metadata == {}
    state.delete_aggregate("empty")
    assert "empty" not in state.aggregates
    state.delete_node("b")
    assert state.aggregates["ssd"].hosts == {"a"}


def test_zone_codes_follow_labels_and_aggregate_zones() -> None:
    """The table's per-row zones (the zone filter's fast path) change with the node's label
    and with the availability_zone of its aggregates' objects, created, edited or deleted."""
    state = cluster(
        node("a", zone="az-1"),
        node("b", aggregates=["rack"]),
        node("c"),
        aggregate("rack", availability_zone="az-2, az-3"),
    )

    def zones(name: str) -> frozenset[str]:
        table = state.table
        return table.zone_sets[table.zone_code[table.index[name]]]

    assert [zones(n) for n in "abc"] == [{"az-1"}, {"az-2", "az-3"}, frozenset()]
    state.upsert_aggregate(aggregate("rack", availability_zone="az-4"))
    assert zones("b") == {"az-4"}
    state.upsert_aggregate(aggregate("rack", note="no zone"))
    assert zones("b") == frozenset()
    state.upsert_aggregate(aggregate("rack", availability_zone="az-5"))
    state.delete_aggregate("rack")
    assert zones("b") == frozenset()
    state.upsert_node(node("a", zone="az-9", aggregates=["rack"]))
    state.upsert_aggregate(aggregate("rack", availability_zone="az-5"))
    assert zones("a") == {"az-5", "az-9"}
    assert zones("b") == {"az-5"}
    # a removed row is refilled by the last one, zones and all
    state.delete_node("a")
    assert [zones(n) for n in "bc"] == [{"az-5"}, frozenset()]


def test_server_group_index() -> None:
    group = {"weighbridge.io/server-group": "db"}
    state = cluster(
        node("a"),
        node("b"),
        pod(uid="m1", namespace="shop", node_name="a", labels=group),
        pod(uid="m2", namespace="shop", node_name="b", labels=group),
        pod(uid="other", namespace="lab", node_name="b", labels=group),
        pod(uid="plain", namespace="shop", node_name="a"),
    )
    db = state.server_group("shop", "db")
    assert db.name == "db"
    assert db.members == {"m1", "m2"}
    assert db.hosts == {"a", "b"}
    assert state.server_group("lab", "db").members == {"other"}
    state.delete_pod("m2")
    assert state.server_group("shop", "db").hosts == {"a"}
    state.delete_pod("m1")
    assert state.server_group("shop", "db").members == set()
    assert ("shop", "db") not in state.groups


def assert_columns_match(state: ClusterState) -> None:
    table = state.table
    assert len(table.index) == len(table.hosts)
    for row, host in enumerate(table.hosts):
        assert table.index[host.host] == row
        for f in FIELDS:
            assert table.column(f)[row] == getattr(host, f), (host.host, f)
        assert table.disabled[row] == host.service["disabled"]
        assert table.up[row] == host.service["up"]


NODE_NAMES = [f"n{i}" for i in range(6)]
POD_UIDS = [f"p{i}" for i in range(12)]

node_ops = st.tuples(
    st.just("node"),
    st.sampled_from(NODE_NAMES),
    st.fixed_dictionaries(
        {
            "cpu": st.sampled_from(["2", "4", "7500m"]),
            "memory": st.sampled_from(["4Gi", "16Gi", "30Gi"]),
            "ready": st.booleans(),
            "unschedulable": st.booleans(),
            "annotations": st.sampled_from(
                [
                    {},
                    {"weighbridge.io/ram-allocation-ratio": "1.5"},
                    {"weighbridge.io/cpu-allocation-ratio": "oops"},
                ]
            ),
        }
    ),
)
pod_ops = st.tuples(
    st.just("pod"),
    st.sampled_from(POD_UIDS),
    st.fixed_dictionaries(
        {
            "node_name": st.sampled_from(["", *NODE_NAMES, "ghost"]),
            "phase": st.sampled_from(["Pending", "Running", "Running", "Succeeded", "Failed"]),
            "deleting": st.booleans(),
            "requests": st.fixed_dictionaries(
                {
                    "cpu": st.sampled_from(["100m", "250m", "1", "1500m"]),
                    "memory": st.sampled_from(["64Mi", "1Gi", "3Gi"]),
                    "ephemeral-storage": st.sampled_from(["0", "1Gi", "10Gi"]),
                }
            ),
        }
    ),
)
delete_ops = st.tuples(
    st.sampled_from(["delete-node", "delete-pod"]),
    st.sampled_from(NODE_NAMES + POD_UIDS),
    st.just({}),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(node_ops, pod_ops, delete_ops), max_size=60))
def test_columns_and_consumption_stay_true_under_any_event_order(
    ops: list[tuple[str, str, dict[str, Any]]],
) -> None:
    state = ClusterState()
    for op, key, kwargs in ops:
        if op == "node":
            with contextlib.suppress(ObjectError):
                state.upsert_node(node(key, **kwargs))
        elif op == "pod":
            state.upsert_pod(pod(uid=key, **kwargs))
        elif op == "delete-node":
            state.delete_node(key)
        else:
            state.delete_pod(key)
        assert_columns_match(state)
    # every host consumes exactly its live placements, however the events came
    for host in state.table.hosts:
        mine = [p.info for p in state.placements.values() if p.node == host.host]
        assert set(host.instances) == {i.uid for i in mine}
        assert host.num_instances == len(mine)
        assert host.num_io_ops == sum(i.io_op for i in mine)
        used_ram = sum(i.resources.get("memory") for i in mine)
        used_cpu = sum(i.resources.get("cpu") for i in mine)
        assert host.free_ram_mb == pytest.approx(host.total_usable_ram_mb - used_ram)
        assert host.vcpus_used == pytest.approx(used_cpu)
    for name, orphans in state.orphans.items():
        assert state.table.get(name) is None
        assert all(state.placements[uid].node == name for uid in orphans)
