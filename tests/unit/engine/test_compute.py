"""ComputeFilter: a node takes pods while it is Ready and not cordoned (Nova's enabled and
up compute service)."""

from __future__ import annotations

from tests.builders import cluster, node, pod
from tests.unit.engine.helpers import check


def test_compute_filter() -> None:
    state = cluster(
        node("ok"),
        node("cordoned", unschedulable=True),
        node("down", ready=False),
        node("unknown", ready=None),
        node("both", unschedulable=True, ready=False),
    )
    p = pod()
    assert check("ComputeFilter", state, p, "ok") is None
    assert check("ComputeFilter", state, p, "cordoned") == (
        "ComputeFilter: node is cordoned (spec.unschedulable)"
    )
    assert check("ComputeFilter", state, p, "down") == "ComputeFilter: node is not Ready"
    assert check("ComputeFilter", state, p, "unknown") == "ComputeFilter: node is not Ready"
    # a disabled service is not even checked for liveness
    assert "cordoned" in str(check("ComputeFilter", state, p, "both"))
