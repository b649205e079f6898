"""The decision log behind GET /decisions: one record per pod, its latest attempt, bounded."""

from __future__ import annotations

import numpy as np

from extender.engine.scheduler import FilterResult, FilterStep
from extender.service.decisions import DecisionLog


def result(passed: int, *steps: tuple[str, int, int]) -> FilterResult:
    return FilterResult(
        np.arange(passed, dtype=np.intp),
        steps=[FilterStep(name, start, end, {}) for name, start, end in steps],
    )


def test_a_pod_has_one_record_its_latest_attempt() -> None:
    log = DecisionLog()
    log.filtered("u1", "shop/web", 5, result(2, ("RamFilter", 5, 3), ("ComputeFilter", 3, 2)))
    log.prioritized("u1", ["n1", "n2"], [9, 4])
    log.bound("u1", "n1", "")
    [record] = log.view()
    assert record["pod"] == "shop/web"
    assert record["attempt"] == 1
    assert (record["candidates"], record["passed"]) == (5, 2)
    assert record["filters"] == [
        {"name": "RamFilter", "in": 5, "out": 3},
        {"name": "ComputeFilter", "in": 3, "out": 2},
    ]
    assert record["top_scores"] == [{"node": "n1", "score": 9}, {"node": "n2", "score": 4}]
    assert record["bound"]["node"] == "n1" and "error" not in record["bound"]
    # kube-scheduler tries again: a new attempt replaces what the old one said
    log.filtered("u1", "shop/web", 5, result(0, ("RamFilter", 5, 0)))
    [record] = log.view()
    assert (record["attempt"], record["passed"]) == (2, 0)
    assert "top_scores" not in record and "bound" not in record


def test_filters_that_removed_nothing_are_left_out_and_only_three_scores_are_kept() -> None:
    log = DecisionLog()
    log.filtered("u", "ns/p", 4, result(4, ("RamFilter", 4, 4)))
    log.prioritized("u", ["a", "b", "c", "d"], [9, 8, 7, 6])
    [record] = log.view()
    assert record["filters"] == []
    assert [s["node"] for s in record["top_scores"]] == ["a", "b", "c"]


def test_refusals_and_failed_binds_are_recorded() -> None:
    log = DecisionLog()
    log.filtered("u", "ns/p", 3, "weighbridge: annotation weighbridge.io/hints: bad")
    log.bound("u", "n1", "weighbridge: binding to n1 failed: gone")
    [record] = log.view()
    assert record["passed"] == 0 and record["refused"].startswith("weighbridge: annotation")
    assert record["bound"]["error"] == "weighbridge: binding to n1 failed: gone"


def test_calls_for_pods_never_filtered_are_ignored() -> None:
    log = DecisionLog()
    log.prioritized("ghost", ["n1"], [3])
    log.bound("ghost", "n1", "")
    assert log.view() == []


def test_bounded_newest_first_and_found_by_name_or_uid() -> None:
    log = DecisionLog(size=3)
    for i in range(5):
        log.filtered(f"u{i}", f"ns/p{i}", 1, result(1))
    assert [r["uid"] for r in log.view()] == ["u4", "u3", "u2"]
    assert [r["uid"] for r in log.view(limit=2)] == ["u4", "u3"]
    assert [r["uid"] for r in log.view("ns/p3")] == ["u3"]
    assert [r["uid"] for r in log.view("u2")] == ["u2"]
    assert log.view("ns/p0") == []
    # a new attempt of an old pod makes it the newest
    log.filtered("u2", "ns/p2", 1, result(1))
    assert [r["uid"] for r in log.view()] == ["u2", "u4", "u3"]
