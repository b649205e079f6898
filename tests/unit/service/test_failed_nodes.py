"""FailedNodes that aggregate: a pod rejected by thousands of nodes leaves a short message.

kube-scheduler counts identical reasons (tests/fit_error.py); each node's numbers stay in
`explain`. Every node here has its own size, so reasons with numbers would all differ.
"""

from __future__ import annotations

import pytest

from extender.contract import AVAILABILITY_ZONE
from extender.engine.filters.base import cause_of
from extender.model.options import Options
from tests.builders import cluster, node, pod
from tests.fit_error import fit_error_message
from tests.unit.engine.helpers import extender_filter, run

RATIO = "weighbridge.io/ram-allocation-ratio"
FILTERS = ["AvailabilityZoneFilter", "RamFilter", "ComputeFilter"]
#: the bound the issue asks for: about a kilobyte, whatever the cluster's size
KILOBYTE = 1100


def _rejected_everywhere(count: int) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """FailedNodes, FailedAndUnresolvableNodes and each node's full reason, for a 16Gi pod
    on `count` nodes of 8Gi and more (two in three) or of 32Gi and more at ram ratio 0.5 (one
    in three); one in five is in another zone, every tenth is cordoned."""
    nodes = [
        node(
            f"n{i:05d}",
            memory=f"{8192 + i}Mi" if i % 3 else f"{32768 + i}Mi",
            zone="az-2" if i % 5 == 0 else "az-1",
            unschedulable=i % 10 == 1,
            annotations={RATIO: "2" if i % 3 else "0.5"} if i % 2 else {RATIO: "0.5"},
        )
        for i in range(count)
    ]
    state = cluster(*nodes, options=Options())
    the_pod = pod("big", requests={"memory": "24Gi"}, annotations={AVAILABILITY_ZONE: "az-1"})
    answer = extender_filter(state, the_pod, FILTERS)
    assert not answer.NodeNames
    full: dict[str, str] = {}
    for step in run(FILTERS, state, the_pod).steps:
        full.update(step.rejected)
    return answer.FailedNodes or {}, answer.FailedAndUnresolvableNodes or {}, full


@pytest.mark.parametrize("count", [1000, 5000])
def test_the_message_lists_each_cause_once_however_many_nodes(count: int) -> None:
    failed, unresolvable, full = _rejected_everywhere(count)
    assert len(failed) + len(unresolvable) == count
    message = fit_error_message(count, failed, unresolvable)
    with_numbers = fit_error_message(
        count, {n: full[n] for n in failed}, {n: full[n] for n in unresolvable}
    )
    print(f"\n{count} nodes: {len(message)} bytes by cause, {len(with_numbers)} with numbers")
    print(message)
    assert len(message) <= KILOBYTE
    assert len(with_numbers) > 100 * len(message)
    assert f"{count // 5} AvailabilityZoneFilter: node is not in requested zone 'az-1'" in message
    assert "RamFilter: needs 24576Mi, more than usable memory (ratio 0.5)" in message
    # every node's own numbers are still there for explain, behind its cause
    assert all(cause_of(full[n]) == r for n, r in {**failed, **unresolvable}.items())
    assert full["n00004"].endswith("[node: 8196Mi allocatable]")
