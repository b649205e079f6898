"""Failed binds remembered for RetryFilter and BuildFailureWeigher: the FailureLog (per pod
and per node, expiring, bounded) and the ClusterState that feeds its counts to the table."""

from __future__ import annotations

from extender.cache.retries import FailureLog
from extender.cache.state import ClusterState
from extender.model.hoststate import pod_info
from tests.builders import cluster, node, pod, request_spec


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


def _three_nodes() -> ClusterState:
    return cluster(node("n1"), node("n2"), node("n3"))


def test_failures_expire_in_the_cluster_state() -> None:
    state = _three_nodes()
    clock = Clock()
    state.failures.clock = clock
    state.bind_failed("u-web", "n1")
    assert state.table["n1"].failed_builds == 1
    assert state.table.column("failed_builds")[state.table.index["n1"]] == 1
    clock.now += 601
    spec = request_spec(state, pod("web", uid="u-web"))
    assert spec.retry is not None and spec.retry.hosts == set()
    assert state.table["n1"].failed_builds == 0
    assert state.table.column("failed_builds")[state.table.index["n1"]] == 0


def test_a_successful_bind_resets_the_node() -> None:
    state = _three_nodes()
    state.bind_failed("u1", "n1")
    state.bind_failed("u2", "n1")
    info = pod_info(pod("u2", uid="u2", requests={"cpu": "1"}))
    state.assume("u2", "n1", info, until=1e12)
    assert state.table["n1"].failed_builds == 2  # counted, not yet bound
    state.bind_succeeded("u2", "n1")
    assert state.table["n1"].failed_builds == 0
    spec = request_spec(state, pod("x", uid="u2"))
    assert spec.retry is not None and spec.retry.hosts == set()
