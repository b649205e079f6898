"""Failed binds: RetryFilter and BuildFailureWeigher, fed as the bind verb feeds them
(ClusterState.bind_failed) and read through the request the extender builds."""

from __future__ import annotations

import pytest

from extender.engine.scheduler import DEFAULT_WEIGHERS
from extender.model.options import Options
from extender.service.extender import Extender
from tests.builders import cluster, node, pod, request_spec
from tests.unit.engine.helpers import passing, scheduler, weigh


def _extender(options: Options | None = None) -> Extender:
    state = cluster(node("n1"), node("n2"), node("n3"), options=options)
    return Extender(state, scheduler(["RetryFilter"], options=options))


def test_bind_failures_reach_the_request_and_retry_filter() -> None:
    ext = _extender()
    asking = pod("web", uid="u-web")
    spec = request_spec(ext.state, asking)
    assert spec.retry is not None and (spec.retry.num_attempts, spec.retry.hosts) == (1, set())
    ext.state.bind_failed("u-web", "n1")
    spec = ext.request_spec(asking)
    assert spec.retry is not None and (spec.retry.num_attempts, spec.retry.hosts) == (2, {"n1"})
    assert passing(["RetryFilter"], ext.state, asking) == ["n2", "n3"]
    result = ext.decide(asking)
    assert result.filtering.unresolvable == {
        "n1": "RetryFilter: binding this pod to this node already failed"
    }
    # another pod is not affected
    assert passing(["RetryFilter"], ext.state, pod("other")) == ["n1", "n2", "n3"]


def test_past_max_attempts_the_pod_waits_everywhere() -> None:
    ext = _extender(Options(max_attempts=2))
    asking = pod("web", uid="u-web")
    ext.state.bind_failed("u-web", "n1")
    assert passing(["RetryFilter"], ext.state, asking, Options(max_attempts=2)) == ["n2", "n3"]
    ext.state.bind_failed("u-web", "n2")
    result = ext.decide(asking)
    assert len(result.filtering.passed) == 0
    assert set(result.filtering.unresolvable.values()) == {
        "RetryFilter: binding this pod failed 2 times (max_attempts 2); it waits until the "
        "failures expire (600s)"
    }


def test_max_attempts_one_disables_the_memory() -> None:
    ext = _extender(Options(max_attempts=1))
    ext.state.bind_failed("u-web", "n1")
    assert ext.request_spec(pod("web", uid="u-web")).retry is None
    assert len(ext.decide(pod("web", uid="u-web")).filtering.passed) == 3


def test_build_failure_weigher() -> None:
    ext = _extender()
    for uid in ("a", "b", "c"):
        ext.state.bind_failed(uid, "n3")
    ext.state.bind_failed("d", "n2")
    w, order = weigh({"BuildFailureWeigher": 1000.0}, ext.state, pod())
    assert order == ["n1", "n2", "n3"]
    assert w.weights.tolist() == [0.0, -1000 / 3, -1000.0]


def test_build_failure_weigher_nova_case() -> None:
    """Rocky's test: multiplier 1000, failed builds 0/1/10/100 give 0/-10/-100/-1000."""
    state = cluster(*(node(f"n{i}") for i in range(4)))
    ext = Extender(state, scheduler())
    for name, count in (("n1", 1), ("n2", 10), ("n3", 100)):
        for i in range(count):
            ext.state.bind_failed(f"pod-{name}-{i}", name)
    w, order = weigh({"BuildFailureWeigher": 1000.0}, state, pod())
    assert order == ["n0", "n1", "n2", "n3"]
    assert w.weights.tolist() == pytest.approx([0.0, -10.0, -100.0, -1000.0])


def _default_scores(ext: Extender) -> dict[str, int]:
    table = ext.state.table
    rows, _ = table.rows()
    sched = scheduler(weighers=DEFAULT_WEIGHERS)
    w = sched.weigh(table, rows, request_spec(ext.state, pod()))
    return {table.hosts[r].host: int(s) for r, s in zip(w.rows, w.scores, strict=True)}


def test_the_million_multiplier_does_not_squash_ordinary_scores() -> None:
    state = cluster(
        node("small", memory="8Gi", cpu="2"),
        node("large", memory="64Gi", cpu="32"),
        node("mid", memory="32Gi", cpu="16"),
    )
    ext = Extender(state, scheduler())
    scores = _default_scores(ext)
    assert scores["large"] > scores["mid"] > scores["small"]
    ext.state.bind_failed("u", "large")
    scores = _default_scores(ext)
    assert scores["large"] == 0
    assert scores["mid"] == scores["small"] == 10
