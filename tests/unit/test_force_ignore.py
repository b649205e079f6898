"""Forcing and ignoring hosts, as the table of Nova's get_filtered_hosts (reference §6.5)."""

from __future__ import annotations

import pytest
from factories import cluster, node, pod

from extender.cache.state import ClusterState
from extender.contract import FORCE_HOSTS, IGNORE_HOSTS
from extender.engine.scheduler import FilterResult, Scheduler
from extender.model.request import build_request_spec

HOSTS = ["fake-host1", "fake-host2", "fake-host3", "fake-host4"]


@pytest.fixture
def state() -> ClusterState:
    # fake-host1 is cordoned: ComputeFilter rejects it whenever the filters run
    return cluster([node(n, unschedulable=n == "fake-host1") for n in HOSTS])


def run(state: ClusterState, force: str | None = None, ignore: str | None = None) -> FilterResult:
    annotations = {}
    if force is not None:
        annotations[FORCE_HOSTS] = force
    if ignore is not None:
        annotations[IGNORE_HOSTS] = ignore
    spec = build_request_spec(pod(annotations=annotations))
    rows, _ = state.table.rows(None)
    return Scheduler(["ComputeFilter"]).filter(state.table, rows, spec)


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
    result = run(state, force, ignore)
    assert passed(state, result) == expected
    assert filters_ran(result) is filtered


def test_rejections_name_the_annotation(state: ClusterState) -> None:
    result = run(state, force="fake-host3", ignore="fake-host1")
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
    assert not run(state, ignore="fake-host1").forced


def test_empty_entries_in_the_lists_are_ignored(state: ClusterState) -> None:
    spec = build_request_spec(pod(annotations={FORCE_HOSTS: " ,fake-host2,, ", IGNORE_HOSTS: ""}))
    assert spec.force_hosts == ["fake-host2"]
    assert spec.ignore_hosts == []
