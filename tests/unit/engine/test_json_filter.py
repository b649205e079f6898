"""JsonFilter: Nova's grammar and quirks, variables on HostState, errors as reasons."""

from __future__ import annotations

import json
from typing import Any

import pytest

from extender.contract import HINTS
from tests.builders import cluster, node, pod
from tests.unit.engine.helpers import check, extender_filter, passing, run

NOVA_QUERY = ["and", [">=", "$free_ram_mb", 1024], [">=", "$free_disk_mb", 204800]]


def _query(query: Any, as_string: bool = True, **node_kw: Any) -> str | None:
    state = cluster(node("n1", **node_kw))
    value = json.dumps(query) if as_string else query
    return check("JsonFilter", state, pod(annotations={HINTS: {"query": value}}), "n1")


def test_nova_capacity_query() -> None:
    assert _query(NOVA_QUERY, memory="1Gi", disk="200Gi") is None
    assert _query(NOVA_QUERY, memory="1023Mi", disk="200Gi") == (
        f"JsonFilter: query {json.dumps(NOVA_QUERY)} is false for this node"
    )
    assert _query(NOVA_QUERY, memory="1Gi", disk="204799Mi") is not None
    # the query may also be the JSON list itself rather than a string holding it
    assert _query(NOVA_QUERY, as_string=False, memory="1Gi", disk="200Gi") is None


@pytest.mark.parametrize(
    ("query", "passes"),
    [
        (["=", "$foo", 2, 2], True),  # the unknown variable is dropped
        ([">", 1], False),  # fewer than 2 arguments
        (["not", True, False, True, False], True),  # a list: any element true
        (["not", True, True, True], False),
        (["and", ["not", True]], True),  # [False] is a non-empty list, so true
        (["and", [">=", "$free_ram_mb", 1], ["not", "$nonexistent"]], False),  # [] is false
        (["=", "", 1], False),  # "" counts as None and is dropped
        (["=", None, 1, 1], True),
        (["and", []], True),  # an empty sub-query is true
        (["in", "$hypervisor_type", "cri-o", "containerd"], True),
        (["in", "$hypervisor_type", "cri-o"], False),
        (["or", ["<", "$vcpus_total", 4], ["=", "$num_instances", 0]], True),
        (["=", "$service.disabled", False], True),
        (["=", "$service.up", True], True),
        (["=", "$row", 1, 1], True),  # internals are not variables: dropped (row is 0)
        (["<", 1, 2, 3], True),
        (["<", 2, 3, 1], False),
        ([], True),
    ],
)
def test_grammar_and_quirks(query: list[Any], passes: bool) -> None:
    assert (_query(query) is None) is passes


def test_variables_reach_labels_stats_and_metrics_with_dotted_keys() -> None:
    kw: dict[str, Any] = {
        "labels": {"disktype": "ssd"},
        "annotations": {
            "stats.weighbridge.io/tier": "gold",
            "metrics.weighbridge.io/cpu.percent": "35",
        },
    }
    assert _query(["=", "$labels.kubernetes.io/arch", "amd64"], **kw) is None
    assert _query(["=", "$labels.disktype", "ssd"], **kw) is None
    assert _query(["=", "$stats.tier", "gold"], **kw) is None
    assert _query(["<", "$metrics.cpu.percent", 50], **kw) is None
    assert _query([">", "$metrics.cpu.percent", 50], **kw) is not None
    # walking into a non-dict reads as missing, and missing arguments are dropped
    assert _query(["=", "$free_ram_mb.x", 1, 1], **kw) is None


def test_incomparable_values_fail_the_node_not_the_request() -> None:
    reason = _query(["<", "$labels.kubernetes.io/arch", 5])
    assert reason is not None
    assert reason.startswith(
        'JsonFilter: query ["<", "$labels.kubernetes.io/arch", 5] cannot be evaluated '
        "[node: cannot compare"
    )
    assert "(int, str)" in reason


@pytest.mark.parametrize("empty", ["", "[]", "{}", []])
def test_empty_queries_are_not_engaged(empty: Any) -> None:
    state = cluster(node("n1"))
    hinted = pod(annotations={HINTS: {"query": empty}})
    assert passing(["JsonFilter"], state, hinted) == ["n1"]
    assert run(["JsonFilter"], state, hinted).steps[0].seconds == 0.0


@pytest.mark.parametrize(
    ("query", "why"),
    [
        (
            json.dumps(["!=", "$free_ram_mb", 1]),
            'query: unknown operator "!=" in ["!=", "$free_ram_mb", 1]; operators are = < > '
            "in <= >= not or and",
        ),
        (
            json.dumps(["or", True, ["nand", 1, 2]]),
            'query: unknown operator "nand" in ["nand", 1, 2]',
        ),
        (json.dumps([["=", 1, 1]]), 'query: unknown operator ["=", 1, 1]'),
        ("[>=, 1]", "query: not valid JSON (Expecting value)"),
        ("5", "query must be a JSON list"),
        (json.dumps({"op": "="}), "query must be a JSON list"),
    ],
)
def test_malformed_queries_refuse_every_node_naming_the_annotation(query: str, why: str) -> None:
    state = cluster(node("n1"), node("n2"))
    answer = extender_filter(state, pod(annotations={HINTS: {"query": query}}), ["JsonFilter"])
    assert answer.NodeNames == []
    assert answer.FailedNodes == {}
    (reason,) = set(answer.FailedAndUnresolvableNodes.values())
    assert reason.startswith(f"JsonFilter: annotation weighbridge.io/hints: {why}")
    assert set(answer.FailedAndUnresolvableNodes) == {"n1", "n2"}
