"""Pods placed before the watch shows them: assumed placements (Nova's consume_from_request
at bind time) and pods only a filter call has described, pending until the watch shows them."""

from __future__ import annotations

from extender.cache.state import UNSEEN_PODS
from extender.model.hoststate import pod_info
from extender.model.request import build_request_spec
from tests.builders import cluster, node, pod


def test_assumed_pod_consumes_until_the_watch_confirms_it() -> None:
    state = cluster(node("n1", memory="16Gi"))
    waiting = pod("web", uid="u1", requests={"memory": "4Gi"}, phase="Pending")
    state.upsert_pod(waiting)
    assert state.pending["u1"].resources.get("memory") == 4096
    state.assume("u1", "n1", state.pending["u1"], until=100.0)
    host = state.table["n1"]
    assert host.free_ram_mb == 12288
    assert state.table.column("free_ram_mb")[state.table.index["n1"]] == 12288
    # An older version of the pod (still unbound) must not undo our binding.
    state.upsert_pod(waiting)
    assert host.free_ram_mb == 12288 and "u1" in state.assumed
    # The watch shows it bound: the real placement replaces the assumption, counted once.
    state.upsert_pod(pod("web", uid="u1", requests={"memory": "4Gi"}, node_name="n1"))
    assert host.free_ram_mb == 12288 and state.assumed == {}
    assert state.expire_assumptions(now=1e9) == 0


def test_unconfirmed_assumption_expires() -> None:
    state = cluster(node("n1", memory="16Gi"))
    info = pod_info(pod("ghost", uid="u2", requests={"memory": "2Gi"}))
    state.assume("u2", "n1", info, until=10.0)
    assert state.expire_assumptions(now=9.0) == 0
    assert state.table["n1"].free_ram_mb == 14336
    assert state.expire_assumptions(now=10.0) == 1
    assert state.table["n1"].free_ram_mb == 16384
    assert "u2" not in state.placements


def test_relist_does_not_drop_assumptions() -> None:
    state = cluster(node("n1"))
    state.upsert_pod(pod("bound", uid="b", node_name="n1"))
    state.assume("a", "n1", pod_info(pod("assumed", uid="a")), until=1e9)
    assert state.pod_keys() == {"b"}


def test_deleted_pod_drops_its_assumption() -> None:
    state = cluster(node("n1", memory="16Gi"))
    state.assume("u3", "n1", pod_info(pod("gone", uid="u3", requests={"memory": "1Gi"})), 1e9)
    state.delete_pod("u3")
    assert state.assumed == {} and state.table["n1"].free_ram_mb == 16384


def test_a_filtered_pod_is_pending_until_the_watch_shows_it() -> None:
    """A bind may come before the pod watch shows the pod: the filter call's description
    stands in for it, the watch's version wins, and a relist does not count it as known."""
    state = cluster(node("n1", memory="16Gi"))
    spec = build_request_spec(pod("early", uid="e1", requests={"memory": "2Gi"}))
    state.expect(spec.as_instance())
    assert state.pending["e1"].resources.get("memory") == 2048
    assert state.pod_keys() == set()
    state.upsert_pod(pod("early", uid="e1", requests={"memory": "3Gi"}, phase="Pending"))
    assert state.pod_keys() == {"e1"}
    state.expect(spec.as_instance())  # the watch's version is not replaced
    assert state.pending["e1"].resources.get("memory") == 3072
    state.assume("e1", "n1", state.pending["e1"], until=1e9)
    assert "e1" not in state.pending and state.table["n1"].free_ram_mb == 13312


def test_pods_only_filtered_are_bounded() -> None:
    state = cluster(node("n1"))
    for i in range(UNSEEN_PODS + 5):
        state.expect(build_request_spec(pod(f"p{i}", uid=f"u{i}")).as_instance())
    assert len(state.pending) == UNSEEN_PODS
    assert "u0" not in state.pending and f"u{UNSEEN_PODS + 4}" in state.pending
