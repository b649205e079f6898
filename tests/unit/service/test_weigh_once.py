"""One pass per pod: the filter call weighs the nodes that passed, and the same pod's
prioritize call gets that weighing while none of those nodes changed; whenever one did, or
the call names other nodes, it weighs again and answers as if nothing had been kept."""

from __future__ import annotations

import pytest

from extender.cache.state import ClusterState
from extender.engine.scheduler import Scheduler, Weighing
from extender.kube.objects import Pod
from extender.kube.wire import ExtenderArgs, HostPriority
from extender.model.request import RequestSpec
from extender.model.table import HostTable, IntArray
from extender.service.config import Config
from extender.service.extender import Extender
from tests.builders import aggregate, cluster, node, pod

NAMES = [f"n{i}" for i in range(6)]


class CountingScheduler(Scheduler):
    """The configured scheduler, counting its weighings."""

    weighings = 0

    def weigh(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> Weighing:
        self.weighings += 1
        return super().weigh(table, rows, spec)


def _cluster() -> ClusterState:
    nodes = [
        node(name, memory=f"{16 + 4 * i}Gi", cpu=str(4 + i), aggregates=["fast"] if i < 3 else [])
        for i, name in enumerate(NAMES)
    ]
    return cluster(aggregate("fast"), *nodes)


def _counting() -> Extender:
    config = Config()
    return Extender(_cluster(), CountingScheduler(config.filters, config.weighers, config.options))


def _weighings(extender: Extender) -> int:
    assert isinstance(extender.scheduler, CountingScheduler)
    return extender.scheduler.weighings


def _filter(extender: Extender, the_pod: Pod, names: list[str]) -> list[str]:
    answer = extender._filter(ExtenderArgs(the_pod, None, names), the_pod, names)
    assert answer.NodeNames is not None
    return answer.NodeNames


def _fresh(state: ClusterState, the_pod: Pod, names: list[str]) -> list[HostPriority]:
    """What an extender that kept nothing answers over the same view."""
    config = Config()
    return Extender(state, config.scheduler()).prioritize(the_pod, names)


def _pod(name: str = "web") -> Pod:
    return pod(name, uid=f"uid-{name}", requests={"cpu": "1", "memory": "2Gi"})


@pytest.fixture
def extender() -> Extender:
    """An extender that has seen a prioritize call (the first pod's is weighed as before)."""
    extender = _counting()
    extender.prioritize(_pod("first"), NAMES)
    assert isinstance(extender.scheduler, CountingScheduler)
    extender.scheduler.weighings = 0
    return extender


def test_a_scheduler_that_only_filters_does_not_pay_for_weighing() -> None:
    only_filters = _counting()
    _filter(only_filters, _pod(), NAMES)
    assert _weighings(only_filters) == 0


def test_prioritize_after_filter_weighs_once(extender: Extender) -> None:
    the_pod = _pod()
    passed = _filter(extender, the_pod, NAMES)
    assert _weighings(extender) == 1
    answer = extender.prioritize(the_pod, passed)
    assert _weighings(extender) == 1
    assert answer == _fresh(extender.state, the_pod, passed)
    assert answer[0].Host == "n5"  # the most free RAM and CPU


def test_a_candidate_that_changed_in_between_is_weighed_again(extender: Extender) -> None:
    the_pod = _pod()
    passed = _filter(extender, the_pod, NAMES)
    # n5 fills up between the calls: another pod is bound there
    extender.state.upsert_pod(
        pod("big", uid="uid-big", node_name="n5", requests={"memory": "30Gi"})
    )
    answer = extender.prioritize(the_pod, passed)
    assert _weighings(extender) == 2
    assert answer == _fresh(extender.state, the_pod, passed)
    assert answer[0].Host != "n5"


def test_a_change_to_a_node_that_is_no_candidate_keeps_the_weighing(extender: Extender) -> None:
    the_pod = _pod()
    candidates = NAMES[:4]
    passed = _filter(extender, the_pod, candidates)
    extender.state.upsert_pod(pod("other", uid="uid-other", node_name="n5", requests={"cpu": "1"}))
    extender.prioritize(the_pod, passed)
    assert _weighings(extender) == 1


def test_other_nodes_or_another_pod_are_weighed_again(extender: Extender) -> None:
    the_pod = _pod()
    passed = _filter(extender, the_pod, NAMES)
    extender.prioritize(the_pod, passed[1:])
    assert _weighings(extender) == 2
    _filter(extender, the_pod, NAMES)
    extender.prioritize(_pod("other"), passed)
    assert _weighings(extender) == 4


def test_an_aggregate_multiplier_set_in_between_is_seen(extender: Extender) -> None:
    """Aggregate metadata is shared by its members, not copied into their rows; changing it
    still marks the members' rows, so a kept weighing over them is not used."""
    the_pod = _pod()
    passed = _filter(extender, the_pod, NAMES)
    extender.state.upsert_aggregate(aggregate("fast", ram_weight_multiplier="50"))
    answer = extender.prioritize(the_pod, passed)
    assert _weighings(extender) == 2
    assert answer == _fresh(extender.state, the_pod, passed)


def test_the_table_tells_which_rows_changed_after_a_version() -> None:
    table = _cluster().table
    version = table.version
    everything = table.rows()[0]
    assert table.unchanged(everything, version)
    last = table.rows(["n5"])[0]
    table.remove("n5")  # its row is vacated
    assert not table.unchanged(last, version)
    version = table.version
    first, others = table.rows(["n0"])[0], table.rows(["n1", "n2"])[0]
    table.remove("n0")  # the last host moves into n0's row
    assert not table.unchanged(first, version)
    assert table.unchanged(others, version)
    version = table.version
    table.set_numa_zones("n1", None)
    assert not table.unchanged(table.rows(["n1"])[0], version)


def test_the_table_knows_which_rows_an_aggregate_tunes() -> None:
    """Weighing reads each host's aggregates only where one sets a weight multiplier; the
    table keeps which rows those are, through the aggregate's metadata changes."""
    state = _cluster()
    table = state.table
    fast = table.rows(["n0", "n1", "n2"])[0]
    assert not table.tuned[table.rows()[0]].any()
    state.upsert_aggregate(aggregate("fast", ram_weight_multiplier="2"))
    assert table.tuned[fast].all()
    assert table.tuned[table.rows()[0]].sum() == 3
    state.upsert_aggregate(aggregate("fast"))
    assert not table.tuned[fast].any()
