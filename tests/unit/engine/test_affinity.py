"""Server groups (hard filters, soft weighers), same/different host hints, CIDR affinity."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from extender.cache.state import ClusterState
from extender.contract import HINTS, SERVER_GROUP_LABEL, SERVER_GROUP_POLICY
from extender.engine.scheduler import DEFAULT_WEIGHERS
from extender.kube.objects import Pod
from tests.builders import cluster, node, pod, request_spec
from tests.unit.engine.helpers import (
    check,
    extender_filter,
    passing,
    raw,
    run,
    scheduler,
    weigh,
)

GROUP_FILTERS = ["ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter"]


def _member(name: str, node_name: str, namespace: str = "shop", **kw: Any) -> Pod:
    return pod(name, namespace, node_name=node_name, labels={SERVER_GROUP_LABEL: "db"}, **kw)


def _asking(policy: str, **kw: Any) -> Pod:
    return pod(
        "new",
        "shop",
        labels={SERVER_GROUP_LABEL: "db"},
        annotations={SERVER_GROUP_POLICY: policy},
        **kw,
    )


def _groups_cluster(*extra: Pod) -> ClusterState:
    return cluster(
        node("n1"),
        node("n2"),
        node("n3"),
        _member("db-0", "n1"),
        _member("db-1", "n1"),
        _member("db-2", "n2"),
        _member("db-x", "n3", namespace="lab"),  # same label, other namespace: not a member
        pod("web", "shop", node_name="n3"),
        *extra,
    )


def test_group_members_come_from_the_namespace_and_label() -> None:
    spec = request_spec(_groups_cluster(), _asking("anti-affinity"))
    group = spec.instance_group
    assert group is not None
    assert (group.name, group.policies, group.hosts) == ("db", ["anti-affinity"], {"n1", "n2"})
    assert group.counts == {"n1": 2, "n2": 1}
    assert len(group.members) == 3


def test_anti_affinity() -> None:
    state = _groups_cluster()
    assert passing(GROUP_FILTERS, state, _asking("anti-affinity")) == ["n3"]
    assert check("ServerGroupAntiAffinityFilter", state, _asking("anti-affinity"), "n1") == (
        "ServerGroupAntiAffinityFilter: server group db (anti-affinity) already has a pod here"
    )
    assert set(run(GROUP_FILTERS, state, _asking("anti-affinity")).unresolvable) == {"n1", "n2"}


def test_anti_affinity_passes_the_node_the_pod_already_runs_on() -> None:
    itself = _member("new", "n3", uid="uid-self")
    state = _groups_cluster(itself)
    asking = _asking("anti-affinity", uid="uid-self")
    assert passing(GROUP_FILTERS, state, asking) == ["n3"]
    alone = cluster(node("n1"), node("n2"), _member("new", "n1", uid="uid-self"))
    assert passing(GROUP_FILTERS, alone, asking) == ["n1", "n2"]


def test_affinity() -> None:
    state = _groups_cluster()
    assert passing(GROUP_FILTERS, state, _asking("affinity")) == ["n1", "n2"]
    assert check("ServerGroupAffinityFilter", state, _asking("affinity"), "n3") == (
        "ServerGroupAffinityFilter: server group db (affinity) runs on n1, n2"
    )


@pytest.mark.parametrize("policy", ["affinity", "anti-affinity"])
def test_the_first_member_goes_anywhere(policy: str) -> None:
    state = cluster(node("n1"), node("n2"), _member("db-x", "n1", namespace="lab"))
    result = run(GROUP_FILTERS, state, _asking(policy))
    assert sorted(state.table.hosts[r].host for r in result.passed) == ["n1", "n2"]
    assert all(step.seconds == 0.0 for step in result.steps)  # not engaged


@pytest.mark.parametrize("policy", ["soft-affinity", "soft-anti-affinity"])
def test_soft_policies_do_not_filter(policy: str) -> None:
    assert passing(GROUP_FILTERS, _groups_cluster(), _asking(policy)) == ["n1", "n2", "n3"]


def test_soft_affinity_weigher() -> None:
    state = _groups_cluster()
    asking = _asking("soft-affinity")
    assert raw("ServerGroupSoftAffinityWeigher", state, asking) == [2.0, 1.0, 0.0]
    w, order = weigh({"ServerGroupSoftAffinityWeigher": 1.0}, state, asking)
    assert order == ["n1", "n2", "n3"]
    assert w.weights.tolist() == [1.0, 0.5, 0.0]
    # the other policy contributes nothing
    assert raw("ServerGroupSoftAntiAffinityWeigher", state, asking) == [0.0, 0.0, 0.0]


def test_soft_anti_affinity_weigher() -> None:
    state = _groups_cluster()
    asking = _asking("soft-anti-affinity")
    assert raw("ServerGroupSoftAntiAffinityWeigher", state, asking) == [-2.0, -1.0, 0.0]
    w, order = weigh({"ServerGroupSoftAntiAffinityWeigher": 2.0}, state, asking)
    assert order == ["n3", "n2", "n1"]
    assert w.weights.tolist() == [2.0, 1.0, 0.0]


def test_soft_weighers_without_a_group_are_not_engaged() -> None:
    state = _groups_cluster()
    weighers = {"ServerGroupSoftAffinityWeigher": 1.0, "ServerGroupSoftAntiAffinityWeigher": 1.0}
    w, order = weigh(weighers, state, pod("loner", "shop"))
    assert w.contributions == {}
    assert order == ["n1", "n2", "n3"]
    empty = cluster(node("n1"), node("n2"))
    w, _ = weigh(weighers, empty, _asking("soft-affinity"))
    assert w.contributions == {}


@pytest.mark.parametrize(
    ("labels", "annotations", "why"),
    [
        (
            {SERVER_GROUP_LABEL: "db"},
            {SERVER_GROUP_POLICY: "sideways"},
            "annotation weighbridge.io/server-group-policy: unknown policy 'sideways'",
        ),
        (
            {SERVER_GROUP_LABEL: "db"},
            {},
            "annotation weighbridge.io/server-group-policy: missing for server group 'db'",
        ),
        (
            {},
            {SERVER_GROUP_POLICY: "affinity"},
            "annotation weighbridge.io/server-group-policy: set, but the pod has no",
        ),
    ],
)
def test_malformed_group_annotations(
    labels: dict[str, str], annotations: dict[str, str], why: str
) -> None:
    state = _groups_cluster()
    answer = extender_filter(
        state, pod("bad", "shop", labels=labels, annotations=annotations), GROUP_FILTERS
    )
    assert answer.NodeNames == []
    assert set(answer.FailedAndUnresolvableNodes) == {"n1", "n2", "n3"}
    assert all(
        r.startswith(f"weighbridge: {why}") for r in answer.FailedAndUnresolvableNodes.values()
    )


# -- SameHostFilter / DifferentHostFilter -------------------------------------------------


def _hosts_cluster() -> ClusterState:
    return cluster(
        node("n1"),
        node("n2"),
        node("n3"),
        pod("web-1", "shop", uid="u1", node_name="n1"),
        pod("web-2", "shop", uid="u2", node_name="n2"),
    )


def _hinted(**hints: Any) -> Pod:
    return pod("new", "shop", annotations={HINTS: hints})


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ("shop/web-1", ["n1"]),
        ("u2", ["n2"]),
        (["shop/web-1", "u2"], ["n1", "n2"]),
        (["shop/nope"], []),
        ("web-1", []),  # a bare name is neither a UID nor namespace/name
        ([], ["n1", "n2", "n3"]),
    ],
)
def test_same_host(hint: Any, expected: list[str]) -> None:
    assert passing(["SameHostFilter"], _hosts_cluster(), _hinted(same_host=hint)) == expected


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ("shop/web-1", ["n2", "n3"]),
        (["u1", "shop/web-2"], ["n3"]),
        (["shop/nope"], ["n1", "n2", "n3"]),
        ([], ["n1", "n2", "n3"]),
    ],
)
def test_different_host(hint: Any, expected: list[str]) -> None:
    assert (
        passing(["DifferentHostFilter"], _hosts_cluster(), _hinted(different_host=hint)) == expected
    )


def test_hint_reasons() -> None:
    state = _hosts_cluster()
    assert check("SameHostFilter", state, _hinted(same_host="shop/web-1"), "n3") == (
        "SameHostFilter: none of the pods in hint same_host (shop/web-1) runs here"
    )
    assert check("DifferentHostFilter", state, _hinted(different_host=["u1", "x"]), "n1") == (
        "DifferentHostFilter: a pod of hint different_host runs here [node: u1]"
    )


def test_hint_index_follows_pod_events() -> None:
    state = _hosts_cluster()
    hinted = _hinted(same_host="shop/web-1")
    state.upsert_pod(pod("web-1", "shop", uid="u1", node_name="n3"))
    assert passing(["SameHostFilter"], state, hinted) == ["n3"]
    state.delete_pod("u1")
    assert passing(["SameHostFilter"], state, hinted) == []
    assert state.table["n1"].instance_keys == {}


def test_malformed_hints_name_the_annotation() -> None:
    state = _hosts_cluster()
    answer = extender_filter(state, _hinted(same_host=5), ["SameHostFilter"])
    assert set(answer.FailedAndUnresolvableNodes.values()) == {
        "weighbridge: annotation weighbridge.io/hints: same_host must be a string or a list "
        "of strings"
    }
    not_json = pod("new", "shop", annotations={HINTS: "{same_host: x}"})
    answer = extender_filter(state, not_json, ["SameHostFilter"])
    (reason,) = set(answer.FailedAndUnresolvableNodes.values())
    assert reason.startswith("weighbridge: annotation weighbridge.io/hints: not valid JSON")


# -- SimpleCIDRAffinityFilter -------------------------------------------------------------


def _cidr(ip: str | None, **hints: Any) -> str | None:
    state = cluster(node("n1", ip=ip))
    return check("SimpleCIDRAffinityFilter", state, _hinted(**hints), "n1")


def test_cidr_affinity_nova_case() -> None:
    assert _cidr("10.8.1.1", build_near_host_ip="10.8.1.100", cidr="/24") is None
    assert _cidr("10.8.1.1", build_near_host_ip="10.8.1.100") is None  # /24 by default
    assert _cidr("10.8.1.1", build_near_host_ip="10.8.1.100", cidr="/32") == (
        "SimpleCIDRAffinityFilter: node IP is outside 10.8.1.100/32 [node: 10.8.1.1]"
    )


def test_cidr_affinity_edges() -> None:
    assert _cidr(None, build_near_host_ip="10.8.1.100") == (
        "SimpleCIDRAffinityFilter: node has no InternalIP; the pod wants 10.8.1.100/24"
    )
    assert _cidr("fd00::5", build_near_host_ip="fd00::1", cidr="/64") is None
    assert _cidr("10.8.1.1", build_near_host_ip="fd00::1", cidr="/64") is not None
    assert _cidr("10.9.0.1") is None  # no hint: every node passes


def test_bad_network_refuses_every_node() -> None:
    state = cluster(node("n1"), node("n2"))
    bad = _hinted(build_near_host_ip="10.8.1.300")
    answer = extender_filter(state, bad, ["SimpleCIDRAffinityFilter"])
    assert set(answer.FailedAndUnresolvableNodes.values()) == {
        "SimpleCIDRAffinityFilter: annotation weighbridge.io/hints: build_near_host_ip "
        "'10.8.1.300' with cidr '/24' is not a network ('10.8.1.300/24')"
    }


@pytest.mark.parametrize(
    ("policy", "needed"),
    [
        ("affinity", "ServerGroupAffinityFilter"),
        ("anti-affinity", "ServerGroupAntiAffinityFilter"),
        ("soft-affinity", "ServerGroupSoftAffinityWeigher"),
        ("soft-anti-affinity", "ServerGroupSoftAntiAffinityWeigher"),
    ],
)
def test_a_policy_whose_filter_or_weigher_is_off_is_refused(policy: str, needed: str) -> None:
    """Nova's UnsupportedPolicyException: never a silent pass."""
    state = _groups_cluster()
    everything = [*GROUP_FILTERS, "RamFilter"]
    filters = [f for f in everything if f != needed]
    weighers = {n: 1.0 for n in DEFAULT_WEIGHERS if n != needed}
    table = state.table
    result = scheduler(filters, weighers).filter(
        table, table.rows()[0], request_spec(state, _asking(policy))
    )
    assert len(result.passed) == 0
    assert result.steps[0].name == "ServerGroupPolicy"
    assert set(result.unresolvable.values()) == {
        f"weighbridge: annotation weighbridge.io/server-group-policy: policy {policy!r} needs "
        f"{needed}, which this scheduler does not enable"
    }
    enabled = scheduler(everything).filter(
        table, table.rows()[0], request_spec(state, _asking(policy))
    )
    assert len(enabled.passed) > 0


def test_a_negative_soft_multiplier_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        scheduler(weighers={"ServerGroupSoftAffinityWeigher": -1.0, "RAMWeigher": -1.0})
    assert [r.weigher for r in caplog.records] == ["ServerGroupSoftAffinityWeigher"]  # type: ignore[attr-defined]
