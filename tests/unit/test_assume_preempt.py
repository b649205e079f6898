"""Assumed placements (Nova's consume_from_request at bind time) and the preempt verb."""

from __future__ import annotations

import msgspec
from factories import cluster, node, pod, pod_dict

from extender.cache.state import UNSEEN_PODS
from extender.kube.objects import Node, Pod
from extender.kube.wire import (
    ExtenderPreemptionArgs,
    MetaPod,
    MetaVictims,
    Victims,
    decode_preemption,
)
from extender.model.hoststate import pod_info
from extender.model.request import build_request_spec
from extender.service.config import Config
from extender.service.extender import Extender

RATIO = "weighbridge.io/ram-allocation-ratio"


def test_assumed_pod_consumes_until_the_watch_confirms_it() -> None:
    state = cluster([node("n1", memory="16Gi")])
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
    state = cluster([node("n1", memory="16Gi")])
    info = pod_info(pod("ghost", uid="u2", requests={"memory": "2Gi"}))
    state.assume("u2", "n1", info, until=10.0)
    assert state.expire_assumptions(now=9.0) == 0
    assert state.table["n1"].free_ram_mb == 14336
    assert state.expire_assumptions(now=10.0) == 1
    assert state.table["n1"].free_ram_mb == 16384
    assert "u2" not in state.placements


def test_relist_does_not_drop_assumptions() -> None:
    state = cluster([node("n1")])
    state.upsert_pod(pod("bound", uid="b", node_name="n1"))
    state.assume("a", "n1", pod_info(pod("assumed", uid="a")), until=1e9)
    assert state.pod_keys() == {"b"}


def test_deleted_pod_drops_its_assumption() -> None:
    state = cluster([node("n1", memory="16Gi")])
    state.assume("u3", "n1", pod_info(pod("gone", uid="u3", requests={"memory": "1Gi"})), 1e9)
    state.delete_pod("u3")
    assert state.assumed == {} and state.table["n1"].free_ram_mb == 16384


def extender(state_nodes: list[Node], state_pods: list[Pod]) -> Extender:
    config = Config(filters=["ComputeFilter", "RamFilter"], weighers={"RAMWeigher": 1.0})
    return Extender(cluster(state_nodes, state_pods), config.scheduler())


def preempt_args(victims: dict[str, list[str]], full: bool = False) -> bytes:
    vip = pod_dict("vip", requests={"memory": "12Gi"})
    if full:
        by_node = {n: Victims([pod(uid=u) for u in uids]) for n, uids in victims.items()}
        return msgspec.json.encode({"Pod": vip, "NodeNameToVictims": by_node})
    meta = {n: MetaVictims([MetaPod(u) for u in uids]) for n, uids in victims.items()}
    return msgspec.json.encode({"Pod": vip, "NodeNameToMetaVictims": meta})


def two_full_nodes() -> Extender:
    """strict: RamFilter leaves 8Gi usable even empty; roomy: 16Gi once its victim is gone."""
    return extender(
        [
            node("strict", memory="16Gi", annotations={RATIO: "0.5"}),
            node("roomy", memory="16Gi"),
        ],
        [
            pod("v-strict", uid="vs", node_name="strict", requests={"memory": "8Gi"}),
            pod("v-roomy", uid="vr", node_name="roomy", requests={"memory": "8Gi"}),
        ],
    )


def decode(body: bytes) -> tuple[ExtenderPreemptionArgs, Pod]:
    return decode_preemption(body)


def test_preempt_drops_nodes_the_filters_still_reject_and_keeps_victims() -> None:
    ext = two_full_nodes()
    for full in (False, True):
        args, vip = decode(preempt_args({"strict": ["vs"], "roomy": ["vr"]}, full=full))
        result = ext.preempt(args, vip)
        assert result.NodeNameToMetaVictims == {"roomy": MetaVictims([MetaPod("vr")], 0)}
    # Virtual removal is undone: both nodes still count their pods.
    assert ext.state.table["roomy"].free_ram_mb == 8192
    assert ext.state.table["strict"].free_ram_mb == 8192


def test_preempt_accepts_empty_victim_lists_and_drops_unknown_nodes() -> None:
    ext = extender([node("empty", memory="16Gi")], [])
    args, vip = decode(preempt_args({"empty": [], "nowhere": ["x"]}))
    result = ext.preempt(args, vip)
    assert result.NodeNameToMetaVictims == {"empty": MetaVictims([], 0)}


def test_preempt_with_a_malformed_annotation_preempts_nothing() -> None:
    ext = two_full_nodes()
    vip = pod_dict("vip", requests={"memory": "1Gi"}, annotations={"weighbridge.io/hints": "{"})
    body = msgspec.json.encode({"Pod": vip, "NodeNameToMetaVictims": {"roomy": {"Pods": []}}})
    args, pod_obj = decode(body)
    assert ext.preempt(args, pod_obj).NodeNameToMetaVictims == {}


def test_a_filtered_pod_is_pending_until_the_watch_shows_it() -> None:
    """A bind may come before the pod watch shows the pod: the filter call's description
    stands in for it, the watch's version wins, and a relist does not count it as known."""
    state = cluster([node("n1", memory="16Gi")])
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
    state = cluster([node("n1")])
    for i in range(UNSEEN_PODS + 5):
        state.expect(build_request_spec(pod(f"p{i}", uid=f"u{i}")).as_instance())
    assert len(state.pending) == UNSEEN_PODS
    assert "u0" not in state.pending and f"u{UNSEEN_PODS + 4}" in state.pending
