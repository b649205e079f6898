"""Nova's host_subset_size: a filter call answers only the N best of the nodes that passed,
so that kube-scheduler chooses among them (with one, it binds there without scoring or
prioritizing). The nodes left out are neither passed nor failed; real failures are
reported as before."""

from __future__ import annotations

import msgspec
import pytest

from extender.errors import ConfigError
from extender.kube.wire import ExtenderArgs, ExtenderFilterResult, RawNodeList
from extender.service.config import Config, parse_config
from extender.service.extender import Extender
from tests.builders import cluster, node, node_dict, pod

#: n0 is too small for the pod (RamFilter); the others differ in free RAM and CPU
NAMES = [f"n{i}" for i in range(6)]
POD = pod("web", uid="uid-web", requests={"cpu": "1", "memory": "6Gi"})


def _extender(subset: int) -> Extender:
    config = parse_config({"options": {"host_subset_size": subset}})
    nodes = [node("n0", memory="4Gi", cpu="4")]
    nodes += [node(f"n{i}", memory=f"{16 + 4 * i}Gi", cpu=str(4 + i)) for i in range(1, 6)]
    return Extender(cluster(*nodes), config.scheduler())


def _filter(extender: Extender, names: list[str] = NAMES) -> ExtenderFilterResult:
    return extender._filter(ExtenderArgs(POD, None, names), POD, names)


def _ranked() -> list[str]:
    """Every node that passes, best first, as prioritize over all of them ranks them."""
    every = _extender(0)
    passed = _filter(every).NodeNames
    assert passed is not None
    return [p.Host for p in every.prioritize(POD, passed)]


@pytest.mark.parametrize("subset", [1, 3])
def test_the_answer_is_the_best_nodes_and_the_failures(subset: int) -> None:
    ranked = _ranked()
    assert len(ranked) == 5 and ranked[0] == "n5"
    answer = _filter(_extender(subset))
    assert answer.NodeNames == ranked[:subset]
    assert answer.FailedNodes == _filter(_extender(0)).FailedNodes
    assert list(answer.FailedNodes) == ["n0"]


def test_a_subset_no_smaller_than_the_nodes_that_pass_answers_them_all() -> None:
    assert _filter(_extender(5)) == _filter(_extender(0))


def test_the_best_node_is_what_the_decision_log_shows() -> None:
    extender = _extender(1)
    _filter(extender)
    record = extender.decisions.view("default/web", 1)[0]
    assert record["top_scores"][0]["node"] == "n5"


def test_full_nodes_are_answered_with_the_best_ones_items() -> None:
    """Asked with Node objects, the answer holds the very bytes of the best nodes' items."""
    extender = _extender(2)
    raw = [msgspec.Raw(msgspec.json.encode(node_dict(name))) for name in NAMES]
    args = ExtenderArgs(POD, RawNodeList(raw), None)
    answer = extender._filter(args, POD, NAMES)
    assert answer.Nodes is not None and answer.NodeNames is None
    kept = {msgspec.json.decode(item)["metadata"]["name"] for item in answer.Nodes.items}
    assert kept == set(_ranked()[:2])


def test_a_negative_subset_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"options\.host_subset_size"):
        parse_config({"options": {"host_subset_size": -1}})
    assert Config().options.host_subset_size == 0
