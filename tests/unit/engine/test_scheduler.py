"""The scheduler's filtering: filters run in order until no host is left, and hosts are
forced and ignored as in the table of Nova's get_filtered_hosts (reference §6.5)."""

from __future__ import annotations

import pytest

from extender.cache.state import ClusterState
from extender.contract import FORCE_HOSTS, IGNORE_HOSTS
from extender.engine.scheduler import FilterResult
from extender.model.request import build_request_spec
from tests.builders import cluster, node, pod
from tests.unit.engine.helpers import run

HOSTS = ["fake-host1", "fake-host2", "fake-host3", "fake-host4"]


def test_filters_run_in_order_and_stop_when_no_host_is_left() -> None:
    state = cluster(node("small", memory="1Gi"), node("cordoned", unschedulable=True), node("big"))
    filters = ["ComputeFilter", "RamFilter", "CoreFilter", "DiskFilter"]
    result = run(filters, state, pod(requests={"memory": "2Gi", "cpu": "64"}))
    assert [(s.name, s.start, s.end) for s in result.steps] == [
        ("ComputeFilter", 3, 2),
        ("RamFilter", 2, 1),
        ("CoreFilter", 1, 0),
    ]
    assert len(result.passed) == 0
    assert set(result.failed) == {"small", "big"}
    assert set(result.unresolvable) == {"cordoned"}
    assert result.steps[1].rejected["small"].startswith("RamFilter: needs 2048Mi")


@pytest.fixture
def state() -> ClusterState:
    # fake-host1 is cordoned: ComputeFilter rejects it whenever the filters run
    return cluster(*(node(n, unschedulable=n == "fake-host1") for n in HOSTS))


def forcing(
    state: ClusterState, force: str | None = None, ignore: str | None = None
) -> FilterResult:
    """ComputeFilter's run for a pod that forces and ignores these hosts."""
    annotations = {}
    if force is not None:
        annotations[FORCE_HOSTS] = force
    if ignore is not None:
        annotations[IGNORE_HOSTS] = ignore
    return run(["ComputeFilter"], state, pod(annotations=annotations))


def passed(state: ClusterState, result: FilterResult) -> list[str]:
    return sorted(state.table.hosts[r].host for r in result.passed)


def filters_ran(result: FilterResult) -> bool:
    return any(s.name == "ComputeFilter" for s in result.steps)


@pytest.mark.parametrize(
    ("force", "ignore", "expected", "filtered"),
    [
        (None, None, ["fake-host2", "fake-host3", "fake-host4"], True),
        (None, "fake-host1,fake-host3,fake-host5", ["fake-host2", "fake-host4"], True),
        (None, "FAKE-HOST1, FaKe-HoSt3", ["fake-host2", "fake-host4"], True),
        (None, "fake-host2", ["fake-host3", "fake-host4"], True),
        ("fake-host1,fake-host3,fake-host5", None, ["fake-host1", "fake-host3"], False),
        (
            "FAKE-HOST1, FaKe-HoSt3 ,fake-host4,faKe-host5",
            None,
            ["fake-host1", "fake-host3", "fake-host4"],
            False,
        ),
        ("fake-host5,fake-host6", None, [], False),
        ("fake-host3,fake-host1", "fake-host1", ["fake-host3"], False),
        (None, ",".join(HOSTS), [], False),
        ("fake-host2", ",".join(HOSTS), [], False),
    ],
)
def test_force_and_ignore(
    state: ClusterState,
    force: str | None,
    ignore: str | None,
    expected: list[str],
    filtered: bool,
) -> None:
    result = forcing(state, force, ignore)
    assert passed(state, result) == expected
    assert filters_ran(result) is filtered


def test_rejections_name_the_annotation(state: ClusterState) -> None:
    result = forcing(state, force="fake-host3", ignore="fake-host1")
    assert result.unresolvable["fake-host1"] == f"{IGNORE_HOSTS}: node is ignored"
    assert result.unresolvable["fake-host2"] == (
        f"{FORCE_HOSTS}: node is not among the forced nodes"
    )
    assert [(s.name, s.start, s.end) for s in result.steps] == [
        ("IgnoreHosts", 4, 3),
        ("ForceHosts", 3, 1),
    ]
    assert result.failed == {}
    assert result.forced
    assert not forcing(state, ignore="fake-host1").forced


def test_empty_entries_in_the_lists_are_ignored(state: ClusterState) -> None:
    spec = build_request_spec(pod(annotations={FORCE_HOSTS: " ,fake-host2,, ", IGNORE_HOSTS: ""}))
    assert spec.force_hosts == ["fake-host2"]
    assert spec.ignore_hosts == []
