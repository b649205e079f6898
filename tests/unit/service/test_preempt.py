"""The preempt verb: kube-scheduler's victims are kept only on nodes the filters accept once
the victims are gone (a what-if that leaves the live hosts alone)."""

from __future__ import annotations

import msgspec

from extender.kube.objects import Node, Pod
from extender.kube.wire import MetaPod, MetaVictims, Victims, decode_preemption
from extender.service.config import Config
from extender.service.extender import Extender
from tests.builders import cluster, node, pod, pod_dict

RATIO = "weighbridge.io/ram-allocation-ratio"


def extender(*objects: Node | Pod) -> Extender:
    config = Config(filters=["ComputeFilter", "RamFilter"], weighers={"RAMWeigher": 1.0})
    return Extender(cluster(*objects), config.scheduler())


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
        node("strict", memory="16Gi", annotations={RATIO: "0.5"}),
        node("roomy", memory="16Gi"),
        pod("v-strict", uid="vs", node_name="strict", requests={"memory": "8Gi"}),
        pod("v-roomy", uid="vr", node_name="roomy", requests={"memory": "8Gi"}),
    )


def test_preempt_drops_nodes_the_filters_still_reject_and_keeps_victims() -> None:
    ext = two_full_nodes()
    for full in (False, True):
        args, vip = decode_preemption(preempt_args({"strict": ["vs"], "roomy": ["vr"]}, full=full))
        result = ext.preempt(args, vip)
        assert result.NodeNameToMetaVictims == {"roomy": MetaVictims([MetaPod("vr")], 0)}
    # Virtual removal is undone: both nodes still count their pods.
    assert ext.state.table["roomy"].free_ram_mb == 8192
    assert ext.state.table["strict"].free_ram_mb == 8192


def test_preempt_accepts_empty_victim_lists_and_drops_unknown_nodes() -> None:
    ext = extender(node("empty", memory="16Gi"))
    args, vip = decode_preemption(preempt_args({"empty": [], "nowhere": ["x"]}))
    result = ext.preempt(args, vip)
    assert result.NodeNameToMetaVictims == {"empty": MetaVictims([], 0)}


def test_preempt_with_a_malformed_annotation_preempts_nothing() -> None:
    ext = two_full_nodes()
    vip = pod_dict("vip", requests={"memory": "1Gi"}, annotations={"weighbridge.io/hints": "{"})
    body = msgspec.json.encode({"Pod": vip, "NodeNameToMetaVictims": {"roomy": {"Pods": []}}})
    args, pod_obj = decode_preemption(body)
    assert ext.preempt(args, pod_obj).NodeNameToMetaVictims == {}
