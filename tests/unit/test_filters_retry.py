"""Failed binds: the FailureLog, RetryFilter and BuildFailureWeigher, fed as the bind verb
feeds them (Extender.bind_failed) and read through build_request_spec."""

from __future__ import annotations

import pytest
from catalogue_factories import as_pod, cluster, node, passing, pod, request, scheduler, weigh

from extender.cache.retries import FailureLog
from extender.engine.scheduler import DEFAULT_WEIGHERS
from extender.model.hoststate import pod_info
from extender.model.options import Options
from extender.service.extender import Extender


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failure_log_counts_per_pod_and_node() -> None:
    log = FailureLog(ttl=60, capacity=100, clock=Clock())
    log.record_failure("p1", "n1")
    log.record_failure("p1", "n2")
    log.record_failure("p1", "n2")
    log.record_failure("p2", "n2")
    assert log.failed_hosts("p1") == (3, {"n1", "n2"})
    assert log.failed_hosts("p3") == (0, set())
    assert (log.failed_builds("n1"), log.failed_builds("n2"), log.failed_builds("n3")) == (1, 3, 0)


def test_failures_expire_after_the_ttl() -> None:
    clock = Clock()
    log = FailureLog(ttl=60, capacity=100, clock=clock)
    log.record_failure("p1", "n1")
    clock.now += 30
    log.record_failure("p1", "n2")
    assert log.expire() == set()
    clock.now += 30
    assert log.expire() == {"n1"}
    assert log.failed_hosts("p1") == (1, {"n2"})
    clock.now += 30
    assert log.expire() == {"n2"}
    assert log.failed_hosts("p1") == (0, set())
    assert len(log) == 0
    assert log._pods == {} and log._nodes == {}


def test_the_log_is_bounded() -> None:
    log = FailureLog(ttl=60, capacity=3, clock=Clock())
    for i in range(10):
        log.record_failure(f"p{i}", "n1")
    assert len(log) == 3
    assert log.failed_builds("n1") == 3
    assert log.failed_hosts("p0") == (0, set())
    assert log.failed_hosts("p9") == (1, {"n1"})


def test_success_resets_and_old_events_stay_forgotten() -> None:
    clock = Clock()
    log = FailureLog(ttl=60, capacity=100, clock=clock)
    log.record_failure("p1", "n1")
    log.record_failure("p2", "n1")
    log.record_success("p1", "n1")
    assert log.failed_builds("n1") == 0
    assert log.failed_hosts("p1") == (0, set())
    assert log.failed_hosts("p2") == (1, {"n1"})  # other pods keep their retry memory
    clock.now += 10
    log.record_failure("p3", "n1")
    clock.now += 55  # the first two events expire, the reset already dropped them
    assert log.expire() == set()  # only p2's record changed; the node's count is untouched
    assert log.failed_builds("n1") == 1
    assert log.failed_hosts("p2") == (0, set())


def _extender(options: Options | None = None) -> Extender:
    state = cluster(node("n1"), node("n2"), node("n3"), options=options)
    return Extender(state, scheduler(["RetryFilter"], options=options))


def test_bind_failures_reach_the_request_and_retry_filter() -> None:
    ext = _extender()
    asking = pod("web", uid="u-web")
    spec = request(ext.state, asking)
    assert spec.retry is not None and (spec.retry.num_attempts, spec.retry.hosts) == (1, set())
    ext.state.bind_failed("u-web", "n1")
    spec = ext.request_spec(as_pod(asking))
    assert spec.retry is not None and (spec.retry.num_attempts, spec.retry.hosts) == (2, {"n1"})
    assert passing(["RetryFilter"], ext.state, asking) == ["n2", "n3"]
    result = ext.decide(as_pod(asking))
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
    result = ext.decide(as_pod(asking))
    assert len(result.filtering.passed) == 0
    assert set(result.filtering.unresolvable.values()) == {
        "RetryFilter: binding this pod failed 2 times (max_attempts 2); it waits until the "
        "failures expire (600s)"
    }


def test_max_attempts_one_disables_the_memory() -> None:
    ext = _extender(Options(max_attempts=1))
    ext.state.bind_failed("u-web", "n1")
    assert ext.request_spec(as_pod(pod("web", uid="u-web"))).retry is None
    assert len(ext.decide(as_pod(pod("web", uid="u-web"))).filtering.passed) == 3


def test_failures_expire_in_the_cluster_state() -> None:
    ext = _extender()
    clock = Clock()
    ext.state.failures.clock = clock
    ext.state.bind_failed("u-web", "n1")
    assert ext.state.table["n1"].failed_builds == 1
    assert ext.state.table.column("failed_builds")[ext.state.table.index["n1"]] == 1
    clock.now += 601
    spec = ext.request_spec(as_pod(pod("web", uid="u-web")))
    assert spec.retry is not None and spec.retry.hosts == set()
    assert ext.state.table["n1"].failed_builds == 0
    assert ext.state.table.column("failed_builds")[ext.state.table.index["n1"]] == 0


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


def test_a_successful_bind_resets_the_node() -> None:
    ext = _extender()
    ext.state.bind_failed("u1", "n1")
    ext.state.bind_failed("u2", "n1")
    info = pod_info(as_pod(pod("u2", uid="u2", requests={"cpu": "1"})))
    ext.state.assume("u2", "n1", info, until=1e12)
    assert ext.state.table["n1"].failed_builds == 0
    spec = ext.request_spec(as_pod(pod("x", uid="u2")))
    assert spec.retry is not None and spec.retry.hosts == set()


def _default_scores(ext: Extender) -> dict[str, int]:
    table = ext.state.table
    rows, _ = table.rows()
    sched = scheduler(weighers=DEFAULT_WEIGHERS)
    w = sched.weigh(table, rows, request(ext.state, pod()))
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
