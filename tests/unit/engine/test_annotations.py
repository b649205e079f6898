"""Malformed annotations: the pod is refused on every node with the annotation named,
whichever filter reads it and whatever filters run before, through the filter verb."""

from __future__ import annotations

from typing import Any

import pytest

from extender.contract import EXTRA_SPECS, HINTS, IMAGE_PROPERTIES
from extender.engine.filters import FILTERS
from extender.model.options import MetricsOptions, Options
from tests.builders import aggregate, cluster, node, pod
from tests.unit.engine.helpers import extender_filter

#: every filter but the whole-node ones, which no ordinary pod passes
EVERYTHING = sorted(
    set(FILTERS) - {"AllHostsFilter", "ExactCoreFilter", "ExactDiskFilter", "ExactRamFilter"}
)


@pytest.mark.parametrize(
    ("annotations", "reason"),
    [
        (
            {EXTRA_SPECS: "{not json"},
            "weighbridge: annotation weighbridge.io/extra-specs: not valid JSON",
        ),
        (
            {EXTRA_SPECS: '["a"]'},
            "weighbridge: annotation weighbridge.io/extra-specs: must be a JSON object, got list",
        ),
        (
            {EXTRA_SPECS: '{"a": [1]}'},
            "weighbridge: annotation weighbridge.io/extra-specs: value of 'a' must be a string",
        ),
        (
            {IMAGE_PROPERTIES: "[]"},
            "weighbridge: annotation weighbridge.io/image-properties: must be a JSON object",
        ),
        ({HINTS: "nope"}, "weighbridge: annotation weighbridge.io/hints: not valid JSON"),
        (
            {HINTS: '{"cidr": 24}'},
            "weighbridge: annotation weighbridge.io/hints: cidr must be a string",
        ),
        (
            {HINTS: '{"query": ["=", 1]}', EXTRA_SPECS: '{"opt": "= x"}'},
            # the first filter in order that reads a bad part refuses the pod
            "AggregateInstanceExtraSpecsFilter: annotation weighbridge.io/extra-specs: opt: "
            "'= x': = compares numbers and 'x' is not one",
        ),
        (
            {HINTS: '{"query": "[\\"xor\\", 1]"}'},
            'JsonFilter: annotation weighbridge.io/hints: query: unknown operator "xor"',
        ),
    ],
)
def test_malformed_annotations_are_answered_naming_them(
    annotations: dict[str, Any], reason: str
) -> None:
    agg = aggregate("a1", opt="1")
    state = cluster(node("n1", aggregates=["a1"]), node("n2"), agg)
    answer = extender_filter(
        state, pod(annotations=annotations), EVERYTHING, Options(metrics=MetricsOptions())
    )
    assert answer.NodeNames == []
    assert answer.FailedNodes == {}
    assert set(answer.FailedAndUnresolvableNodes) == {"n1", "n2"}
    (got,) = set(answer.FailedAndUnresolvableNodes.values())
    assert got.startswith(reason), got


def test_a_malformed_annotation_is_every_nodes_reason_whatever_the_filter_order() -> None:
    """Checked before any filter runs, so earlier filters do not hide the pod's mistake."""
    agg = aggregate("reserved", filter_tenant_id="finance")
    state = cluster(node("n1", aggregates=["reserved"]), node("n2"), agg)
    typo = pod("typo", "shop", annotations={HINTS: {"query": '["!=", 1, 2]'}})
    answer = extender_filter(state, typo, ["AggregateMultiTenancyIsolation", "JsonFilter"])
    assert set(answer.FailedAndUnresolvableNodes) == {"n1", "n2"}
    (reason,) = set(answer.FailedAndUnresolvableNodes.values())
    assert reason.startswith("JsonFilter: annotation weighbridge.io/hints: query: unknown operator")
